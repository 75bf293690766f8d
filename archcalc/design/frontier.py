"""Pareto frontiers over any metrics, for any set of specs and published points.

Generic pieces (the dashboard reuses them):

* `pareto_front(points, objectives)`: indices of the non-dominated points, each objective a
  (key, "min" | "max") pair; exact comparisons (ints, Fractions, floats as given).
* `load_points(path)`: published points from YAML or CSV (width, resolution, top1, ...).
* `collect_points(...)`: published points of each spec (from `<spec dir>/published/<spec
  file name>`, and any --points files) with archcalc's exact costs added, or a sweep grid of
  each spec when both axes are costs.

The text of the front and its interactive plotly figure: archcalc.report.frontier.

Directions: accuracy-like metrics (top1, top5, acc1, acc5, accuracy) are maximised, every
other metric (costs, latencies) minimised, unless told otherwise.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from ..errors import OptionError
from ..numbers import decimal_text, exact_python
from ..published import RESERVED, load_points, metric_names, published_for  # noqa: F401 (public names)

MAXIMISED = ("top1", "top5", "acc1", "acc5", "accuracy")


def direction(metric: str, maximise=(), minimise=()) -> str:
    if metric in maximise:
        return "max"
    if metric in minimise:
        return "min"
    return "max" if metric.lower() in MAXIMISED else "min"


def pareto_front(points, objectives) -> list[int]:
    """Indices (in input order) of the points no other point dominates. A point dominates
    another when it is at least as good in every objective and better in one; identical
    points do not dominate each other. `points` are mappings (or sequences) indexed by each
    objective's key; objectives are [(key, "min" | "max")]."""
    objectives = list(objectives)
    for _, sense in objectives:
        if sense not in ("min", "max"):
            raise OptionError(f"objective sense must be 'min' or 'max', got {sense!r}")
    vecs = [tuple(p[k] if s == "min" else -p[k] for k, s in objectives) for p in points]
    n = len(vecs)
    if len(objectives) == 2:
        order = sorted(range(n), key=lambda i: vecs[i])
        front, best, best_x = [], None, None
        for i in order:
            x, y = vecs[i]
            if best is None or y < best:
                front.append(i)
                best, best_x = y, x
            elif y == best and x == best_x:
                front.append(i)
        return sorted(front)
    front = []
    for i in range(n):
        vi = vecs[i]
        if not any(all(a <= b for a, b in zip(vecs[j], vi)) and vecs[j] != vi for j in range(n) if j != i):
            front.append(i)
    return front


def collect_points(specs, x: str, y: str, *, points_files=(), convention="paper", dtype="fp32",
                   sets=None, widths=None, resolutions=None, published: bool = True,
                   advance=None, left_out: list | None = None) -> list[dict]:
    """Points with values for x and y: published points (archcalc's exact costs added at their
    width and resolution), plus a grid of each spec when both x and y are costs.

    A --points file's point without a `spec` belongs to the one SPEC given; with several
    SPECs it must name its spec (a point that carries both metrics itself needs none).
    Points that lack x or y and have nothing to compute it from are left out and listed in
    `left_out` ([(file, label, reason)]). `advance()` is called once per spec compiled."""
    from ..cost import Evaluator
    from ..zoo import resolve
    from .buildable import require_some_valid
    advance = advance or (lambda *a, **k: None)
    left_out = [] if left_out is None else left_out
    compiled: dict = {}
    with_sets: dict = {}

    def key_of(spec_path) -> str:
        return os.path.realpath(resolve(str(spec_path)))

    def forms_for(spec_path, point_sets=None):
        key = key_of(spec_path)
        if point_sets:
            merged = dict(sets or {}, **point_sets)
            skey = (key, tuple(sorted(merged.items())))
            if skey not in with_sets:
                with_sets[skey] = Evaluator(resolve(str(spec_path)), convention, dtype,
                                            sets=merged)
            return with_sets[skey]
        if key not in compiled:
            compiled[key] = Evaluator(resolve(str(spec_path)), convention, dtype, sets=sets)
        return compiled[key]

    specs = [str(s) for s in specs]
    for s in specs:
        forms_for(s)
        advance()
    raw: list[dict] = []
    if published:
        for s in specs:
            f = published_for(s)
            if f is not None:
                for p in load_points(f):
                    p.setdefault("spec", s)
                    p["origin"] = "published"
                    raw.append(p)
    for f in points_files:
        for p in load_points(f):
            p["origin"] = "points"
            if "spec" not in p and not all(_is_number(p.get(m)) for m in (x, y)):
                if len(specs) == 1:
                    p["spec"] = specs[0]
                elif specs:
                    raise OptionError(
                        f"{f}: point {p['index']} ({p['label']}) names no spec, and {len(specs)} "
                        f"SPECs were given: add a `spec` column (or a top-level `spec:` in YAML) "
                        f"naming one of {', '.join(specs)} (docs/design-space.md, Points files)")
            raw.append(p)
    out = []
    for p in raw:
        needs = [m for m in (x, y) if not _is_number(p.get(m))]
        if needs:
            if "spec" not in p or "width" not in p:
                left_out.append((p.get("file", ""), p["label"],
                                 f"no {' or '.join(needs)} and no spec and width to compute it"))
                continue
            forms = forms_for(p["spec"], p.get("set"))
            unknown = [m for m in needs if m not in forms.plans]
            if unknown:
                left_out.append((p.get("file", ""), p["label"], f"no {' or '.join(unknown)}"))
                continue
            res = p.get("resolution", forms.spec.resolution)
            if not forms.valid_points([p["width"]], [res])[0]:
                raise OptionError(f"{p.get('file', '')}: {p['label']}: {forms.spec.name} cannot be "
                                  f"built at width {decimal_text(p['width'])}, resolution {res}")
            values = forms.at(p["width"], res)
            p = dict(p, resolution=res, spec_name=forms.spec.name, **{m: values[m] for m in needs})
        p.setdefault("group", _group(p, compiled, key_of))
        out.append(p)
    if widths is not None and resolutions is not None:
        from ..cost.axes import resolution_values, width_values
        for s in specs:
            forms = forms_for(s)
            if x not in forms.plans or y not in forms.plans:
                continue
            valid = forms.valid(widths, resolutions)
            require_some_valid(forms, widths, resolutions, valid, "frontier grid")
            grid = forms.grid(widths, resolutions, [x, y])
            ws = width_values(widths)
            rs = resolution_values(resolutions, forms.spec.resolution)
            for i, w in enumerate(ws):
                for j, r in enumerate(rs):
                    if not valid[i, j]:
                        continue
                    out.append({"spec": s, "group": f"{forms.spec.name} (grid)",
                                "label": f"{forms.spec.name} {decimal_text(w)} {r}",
                                "width": w, "resolution": r,
                                x: exact_python(grid[x][i, j]), y: exact_python(grid[y][i, j]), "source": "archcalc"})
    if not out:
        known = list(dict.fromkeys(metric_names(raw) + [m for f in compiled.values()
                                                        for m in f.metrics]))
        raise OptionError(f"no points have both {x} and {y}; metrics available: "
                          f"{', '.join(known) or 'none'} (published points need a spec and a "
                          f"width to compute costs; give a grid with --width/--resolution for "
                          f"cost-vs-cost frontiers)")
    return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float, Fraction)) and not isinstance(v, bool)


def _group(p, compiled, key_of) -> str:
    """The legend group: '<spec name> (published)' for a spec's own published file, the
    points file's name (with the spec's name) for a --points file."""
    spec = p.get("spec")
    name = p.get("spec_name")
    if spec and name is None:
        forms = compiled.get(key_of(spec))
        name = forms.spec.name if forms is not None else None
    if p.get("origin") == "published" and name:
        return f"{name} (published)"
    stem = Path(p.get("file", "points")).stem
    return f"{stem} ({name})" if name else stem
