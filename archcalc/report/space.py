"""A space run as text: what the space is, how it was costed, how many architectures were
costed and fit the budgets, and the Pareto front as a table (pure rendering: a SpaceResult
in, text out; the JSON form is archcalc.spaces.run.summary_json)."""
from __future__ import annotations

from fractions import Fraction

from ..numbers import count_text, decimal_text
from .terminal import wrap
from .units import human_bytes, human_count

MAX_FRONT_ROWS = 40             # front rows shown (all of them are in _front.parquet)
LABEL = 10


def value_text(v) -> str:
    """A choice value as `--set` takes it: 0.25, 6, true, relu."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, Fraction)):
        return decimal_text(v)
    return str(v)


def shown_path(path: str) -> str:
    """How a space's spec path is shown: `zoo:spaces/NAME` for one that ships with archcalc."""
    from pathlib import Path
    from types import SimpleNamespace
    from ..zoo import zoo_dir
    from .provenance import spec_shown
    p = Path(path)
    if p.is_absolute() and p.parent == zoo_dir() / "spaces":
        return f"zoo:spaces/{p.stem}"
    return spec_shown(SimpleNamespace(path=path))


def _line(label: str, text: str, width: int) -> str:
    return f"{label:>{LABEL}}  " + wrap(text, width, indent=LABEL + 2, first=LABEL + 2)


def _value(metric: str, v) -> str:
    return human_bytes(v) if "bytes" in metric else human_count(v)


def _choices(space) -> str:
    parts = []
    for c in space.choices:
        parts.append(f"{c.name}={'|'.join(value_text(v) for v in c.values)}")
    return f"{len(space.choices)}: " + ", ".join(parts) if parts else "none"


def render(res, width: int = 80) -> str:
    """The summary of a space run (archcalc.spaces.run.SpaceResult)."""
    space = res.space
    lines = [_line("space", f"{space.base.name} ({shown_path(space.path)})", width),
             _line("choices", _choices(space), width)]
    size = f"{space.size:,} architectures"
    if space.n_grid > 1:
        size += (f" ({space.n_choices:,} choice combinations x {len(space.widths)} widths x "
                 f"{len(space.resolutions)} resolutions)")
    lines.append(_line("size", size, width))
    if res.path == "decomposed":
        how = (f"decomposed: {res.stages} stages, {res.compiles:,} stage compiles in "
               f"{res.setup_seconds:.2f} s; each architecture's totals are its stages' table "
               f"entries (sums; maxima for the peak memories)")
    else:
        how = f"compiled: each architecture compiled whole ({res.reason})"
    lines.append(_line("path", how, width))
    lines.append(_line("convention", space.convention.describe(), width))
    lines.append(_line("memory", f"{space.dtype} activations", width))
    if res.mode == "none":
        lines.append(_line("costed", "nothing yet: give --sample N or --all", width))
        return "\n".join(lines) + "\n"
    what = "all" if res.mode == "all" else f"a uniform sample (seed {res.seed}) of"
    ran = (f"{what} {res.evaluated:,} in {res.seconds:.2f} s, {res.runner} "
           f"({res.partitions:,} partition{'s' if res.partitions != 1 else ''})")
    if res.valid != res.evaluated:
        ran += f"; {res.evaluated - res.valid:,} cannot be built"
    lines.append(_line("costed", ran, width))
    if res.budgets:
        shown = ", ".join(f"{m} <= {count_text(int(v))}" for m, v in res.budgets.items())
        share = f" ({100 * res.in_budget / res.valid:.3g}%)" if res.valid else ""
        lines.append(_line("budget", f"{shown}: {res.in_budget:,} of {res.valid:,}{share}",
                           width))
    scope = "the in-budget set" if res.budgets else "every one costed"
    names = [f"max {m}" if m in res.maximize else m for m in res.pareto]
    lines.append(_line("front", f"({', '.join(names)}) of {scope}: "
                       f"{len(res.front):,} architecture{'s' if len(res.front) != 1 else ''}",
                       width))
    if res.front:
        lines.append("")
        lines += _front_table(res, width)
    if res.out is not None:
        lines.append("")
        lines.append(_line("wrote", f"{res.out}: {res.files - 1:,} partition file"
                           f"{'s' if res.files != 2 else ''} ({res.written:,} rows) and "
                           f"_front.parquet ({len(res.front):,} rows)", width))
    return "\n".join(lines) + "\n"


def _front_table(res, width: int) -> list:
    space = res.space
    metrics = list(res.pareto)
    heads = ["index"] + metrics + ["choices (others: the defaults)"]
    rows = []
    for r in res.front[:MAX_FRONT_ROWS]:
        changed = [f"{c.name}={value_text(r['choices'][c.name])}" for c in space.choices
                   if r["choices"][c.name] != c.values[c.default]]
        point = []
        if "width" in r:
            point.append(f"width={value_text(r['width'])}")
        if "resolution" in r:
            point.append(f"resolution={r['resolution']}")
        rows.append([str(r["index"])] + [_value(m, r["totals"][m]) for m in metrics] +
                    [" ".join(point + changed) or "(the defaults)"])
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(heads[:-1])]
    out = ["  ".join(h.rjust(w) for h, w in zip(heads, widths)) + "  " + heads[-1]]
    indent = sum(widths) + 2 * len(widths)
    for row in rows:
        lead = "  ".join(v.rjust(w) for v, w in zip(row, widths)) + "  "
        out.append(lead + wrap(row[-1], width, indent=indent, first=indent))
    if len(res.front) > MAX_FRONT_ROWS:
        out.append(f"... {len(res.front) - MAX_FRONT_ROWS:,} more (all in --format json and "
                   f"_front.parquet)")
    return out
