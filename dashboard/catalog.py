"""The spec catalog: the spec files directly inside --specs, the only files a browser can name.

A browser request names a spec by its file name ("mobilenet_v2.yaml"); anything not in this
listing is refused, so nothing outside --specs is ever read. A file that does not load is
skipped (and logged, and shown on the page) with archcalc's one-line reason, the folder's
path scrubbed from it.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import archcalc
from archcalc.numbers import quote

from .colors import family_color
from .log import log


@dataclass(frozen=True)
class CatalogEntry:
    key: str            # the file name, e.g. "mobilenet_v2.yaml": what the browser names
    path: str           # absolute path (never sent to the browser)
    name: str           # the spec's `name:`
    source: str
    params: tuple       # ParamDecl
    resolution: int
    color: str
    spec_hash: str


class Catalog:
    """The spec files directly inside --specs. A browser request names a spec by its file name;
    anything not in this listing is refused, so nothing outside --specs is ever read."""

    def __init__(self, specs_dir, extra_files=()):
        """`extra_files`: spec files named by the server's own command line (`dashboard
        --model`: the specs archcalc import wrote), listed after the folder's."""
        self.dir = Path(specs_dir).expanduser().resolve()
        self.entries: dict[str, CatalogEntry] = {}
        self.errors: dict[str, str] = {}
        if not self.dir.is_dir():
            raise archcalc.OptionError(f"--specs: not a directory: {specs_dir}")
        files = sorted(p for p in self.dir.iterdir()
                       if p.suffix.lower() in (".yaml", ".yml") and p.is_file())
        files += [Path(f) for f in extra_files if Path(f).name not in {p.name for p in files}]
        self.extra_dirs = sorted({str(Path(f).resolve().parent) for f in extra_files})
        for i, p in enumerate(files):
            try:
                spec = archcalc.load_spec(str(p))
                self.entries[p.name] = CatalogEntry(
                    key=p.name, path=str(p), name=spec.name, source=spec.source,
                    params=tuple(spec.params), resolution=spec.resolution,
                    color=family_color(spec.name, i),
                    spec_hash=hashlib.sha256(p.read_bytes()).hexdigest())
            except archcalc.ArchcalcError as err:
                self.errors[p.name] = self.scrub(str(err))
            except Exception as err:  # noqa: BLE001  (one broken file never stops the server)
                self.errors[p.name] = (f"{p.name}: archcalc could not load it "
                                       f"({type(err).__name__}: {self.scrub(str(err))[:200]})")
            if p.name in self.errors:
                log(f"skipped a spec that does not load: {self.errors[p.name]}")

    def scrub(self, message: str) -> str:
        """A message for the browser: the specs folder's path removed (file names stay)."""
        folder = str(self.dir)
        message = str(message)
        for extra in getattr(self, "extra_dirs", ()):      # dashboard --model's private folder
            message = message.replace(extra + os.sep, "")
        return message.replace(folder + os.sep, "").replace(folder, self.dir.name)

    def path(self, key: str) -> str:
        entry = self.entries.get(key)
        if entry is None:
            raise archcalc.OptionError(f"no spec named {quote(key)} in the specs folder")
        return entry.path

    def key_for_path(self, path) -> str | None:
        try:
            p = Path(path).resolve()
        except OSError:
            return None
        for e in self.entries.values():
            if Path(e.path) == p:
                return e.key
        return None

    def text(self, key: str) -> str:
        """The text of a catalog spec (the editor's examples); only files of the listing."""
        return Path(self.path(key)).read_text(encoding="utf-8")

    def options(self) -> list[dict]:
        return [{"label": f"{e.name}  ·  {e.key}", "value": f"file:{e.key}"}
                for e in self.entries.values()]
