"""The model zoo: the spec files that ship with archcalc (archcalc/zoo/specs, also reachable
as specs/ in a clone) and the published points beside them (specs/published/).

A spec reference is a path to a YAML file (as always), or the name of a zoo spec: the file
name without `.yaml` (`archcalc report mobilenet_v2`, from any directory), optionally written
`zoo:mobilenet_v2` as reports show it. A path that exists wins over a bare zoo name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent / "specs"


def zoo_dir() -> Path:
    """The folder holding the zoo's spec files."""
    return SPECS_DIR


def zoo_names() -> list[str]:
    """Names of the zoo's specs (file names without .yaml), sorted."""
    return sorted(p.stem for p in SPECS_DIR.glob("*.yaml"))


def zoo_path(name: str) -> Path | None:
    """The zoo file named `name` (with or without .yaml), or None."""
    if not isinstance(name, str) or os.sep in name or (os.altsep and os.altsep in name):
        return None
    stem = name[:-5] if name.endswith(".yaml") else name
    if not stem or not stem.replace("_", "").isalnum():
        return None
    candidate = SPECS_DIR / f"{stem}.yaml"
    return candidate if candidate.is_file() else None


def resolve(ref: str | os.PathLike) -> str:
    """A spec reference as a file path: the path itself when it exists (or is not a bare
    zoo name), else the zoo file of that name. Missing files are reported by the loader."""
    text = os.fspath(ref)
    if text.startswith("zoo:"):
        found = zoo_path(text[4:])
        return str(found) if found is not None else text
    if os.path.exists(text):
        return text
    found = zoo_path(text)
    return str(found) if found is not None else text


def display_path(path: str | os.PathLike) -> str:
    """How a spec's path is shown: a zoo file as `zoo:<name>` unless it was named by a path
    relative to the working directory (specs/mobilenet_v2.yaml stays as typed)."""
    text = os.fspath(path)
    p = Path(text)
    if p.is_absolute():
        try:
            rel = p.resolve().relative_to(SPECS_DIR)
        except ValueError:
            return text
        if rel.parent == Path("."):
            return f"zoo:{rel.stem}"
    return text


@dataclass(frozen=True)
class ZooEntry:
    name: str
    title: str
    source: str
    path: Path


def entries() -> list[ZooEntry]:
    """Each zoo spec with its title and source (read from the file's `name` and `source` keys)."""
    from ..spec.yamlio import load_yaml
    out = []
    for name in zoo_names():
        path = SPECS_DIR / f"{name}.yaml"
        doc = load_yaml(path.read_text(encoding="utf-8"), str(path))
        out.append(ZooEntry(name=name, title=str(doc.get("name", name)),
                            source=" ".join(str(doc.get("source", "")).split()), path=path))
    return out
