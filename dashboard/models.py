"""`archcalc dashboard --model MODEL`: the models named on the server's command line, imported
(archcalc.imported) and written back as specs (archcalc.export, `archcalc import`) into a
private temporary folder when the server starts; the catalog lists them after the specs folder.

This is the only way a model reaches the dashboard: a browser can name a listed spec, never a
model reference, so nothing a browser sends is ever run as Python (a model's constructor runs
once, here, because the person starting the server named it).
"""
from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path


def write_model_specs(refs, shape_text: str | None = None) -> list[str]:
    """The spec file of each model reference (`model_<callable or file stem>.yaml`), checked
    against the model before it is written (export_spec); a reference that cannot be imported
    or written is an OptionError naming it."""
    from archcalc.export import export_spec
    from archcalc.imported.refs import model_graph
    folder = Path(tempfile.mkdtemp(prefix="archcalc-models-"))
    atexit.register(shutil.rmtree, folder, True)
    paths: list[str] = []
    for ref in refs:
        graph = model_graph(ref, {}, shape_text=shape_text)
        text = export_spec(graph)
        stem = ref.rsplit(":", 1)[-1] if not ref.lower().endswith(".onnx") else Path(ref).stem
        stem = re.sub(r"[^A-Za-z0-9_]+", "_", stem)[:60] or "model"
        path, n = folder / f"model_{stem}.yaml", 1
        while path.exists():
            n += 1
            path = folder / f"model_{stem}_{n}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths
