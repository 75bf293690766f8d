"""A results-database record: what identifies the machine and the spec, the record of one
bench run (`record_from_bench`) and the column values it is stored as (`row_values`).

A record is a dict with `machine_info` (cpu, cores, gpu, torch), `spec_name`, `spec_path`,
`spec_hash`, `width`, `resolution`, `sets`, `batch`, `device`, `dtype`, `threads`, `options`,
`median_s`, `q1_s`, `q3_s`, `samples`, `stable`, and optionally `created`, `params`,
`madds`, `gflops`, `peak_gflops`, `bandwidth_gbs`, `predicted_s` and `payload` (the whole
bench result). Its key is a hash of the machine's fingerprint and the key columns: running
the same key again is a new row of the same history.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Mapping

# Columns of `results` after the id, in order; the first group is the key.
KEY_COLUMNS = ("machine", "spec_hash", "width", "resolution", "sets", "batch", "device", "dtype",
               "threads", "options")
COLUMNS = (
    "key", "created", "machine", "spec_name", "spec_path", "spec_hash", "width", "resolution",
    "sets", "batch", "device", "dtype", "threads", "options", "median_s", "q1_s", "q3_s",
    "iqr_s", "samples", "stable", "params", "madds", "gflops", "peak_gflops", "bandwidth_gbs",
    "predicted_s", "payload",
)


# -- machine and spec -------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(gpu: str = "none", torch_version: str = "none") -> dict:
    """What identifies a machine for timing: CPU model, logical cores, GPU and torch version.
    The caller (bench, which has torch) supplies the GPU name and the torch version."""
    return {"cpu": cpu_model(), "cores": os.cpu_count() or 0, "gpu": gpu, "torch": torch_version}


def fingerprint(machine: Mapping[str, Any]) -> str:
    """A short stable hash of `machine_info`'s four fields."""
    fields = {k: machine[k] for k in ("cpu", "cores", "gpu", "torch")}
    return _hash(fields)[:16]


def spec_hash(path: str | os.PathLike) -> str:
    """sha256 of the spec file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def now() -> str:
    """The current UTC time as the database stores it (ISO 8601, whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def canonical(obj) -> str:
    """The stored text of a JSON object (`sets`, `options`): sorted keys, no spaces."""
    return json.dumps(obj or {}, sort_keys=True, separators=(",", ":"))


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# -- records ----------------------------------------------------------------------------------
def record_from_bench(d: Mapping[str, Any]) -> dict:
    """The record of one bench run, from its result (archcalc.torch_backend.bench's
    BenchResult.to_dict(), the JSON of `archcalc bench --format json`)."""
    t, roof = d["timing"], d.get("roofline") or {}
    resolution = d["point"]["resolution"]
    options = {"channels_last": d["options"]["channels_last"], "compile": d["options"]["compile"]}
    if isinstance(resolution, (list, tuple)):     # H x W: the resolution column holds H and
        options["input"] = "x".join(map(str, resolution))   # the options (part of the key) HxW
        resolution = resolution[0]
    return {
        "machine_info": d["machine"], "spec_name": d["spec"]["name"],
        "spec_path": d["spec"]["path"], "spec_hash": d["spec"]["hash"],
        "width": d["point"]["width"], "resolution": resolution,
        "sets": d["point"]["sets"], "batch": d["options"]["batch"],
        "device": d["options"]["device"], "dtype": d["options"]["dtype"],
        "threads": d["options"]["threads"],
        "options": options,
        "median_s": t["median"], "q1_s": t["q1"], "q3_s": t["q3"], "samples": t["samples"],
        "stable": t["stable"], "params": d["model"]["params"],
        "madds": d["model"]["madds_per_image"], "gflops": d["achieved"]["gflops"],
        "peak_gflops": roof.get("peak_gflops"), "bandwidth_gbs": roof.get("bandwidth_gbs"),
        "predicted_s": roof.get("predicted_s"), "payload": d,
    }


def row_values(record: Mapping[str, Any]) -> dict:
    """The column values (COLUMNS) of one record; missing required fields are a programming
    error (KeyError)."""
    machine = record["machine_info"]
    fp = fingerprint(machine)
    sets = canonical(record.get("sets"))
    options = canonical(record.get("options"))
    key_fields = {"machine": fp, "spec_hash": record["spec_hash"], "width": str(record["width"]),
                  "resolution": int(record["resolution"]), "sets": sets,
                  "batch": int(record["batch"]), "device": record["device"],
                  "dtype": record["dtype"], "threads": int(record["threads"]), "options": options}
    row = dict(key_fields)
    row.update(
        key=_hash(key_fields)[:16],
        created=record.get("created") or now(),
        spec_name=record["spec_name"], spec_path=str(record["spec_path"]),
        median_s=float(record["median_s"]), q1_s=float(record["q1_s"]), q3_s=float(record["q3_s"]),
        iqr_s=float(record["q3_s"]) - float(record["q1_s"]), samples=int(record["samples"]),
        stable=int(bool(record["stable"])),
        params=_opt_int(record.get("params")), madds=_opt_int(record.get("madds")),
        gflops=_opt_float(record.get("gflops")), peak_gflops=_opt_float(record.get("peak_gflops")),
        bandwidth_gbs=_opt_float(record.get("bandwidth_gbs")),
        predicted_s=_opt_float(record.get("predicted_s")),
        payload=json.dumps(record.get("payload", {}), sort_keys=True),
    )
    return row


def _opt_int(x):
    return None if x is None else int(x)


def _opt_float(x):
    return None if x is None else float(x)
