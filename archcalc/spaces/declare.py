"""The space of a spec: the product of every parameter that declares `choices`, optionally
times a grid of widths and resolutions.

An architecture is an index in [0, size): mixed-radix digits over the choice parameters in
the order the spec declares them, the last one fastest (as itertools.product), with the grid
point (width major, then resolution) as the outermost digit. A parameter named by --set is
fixed, not chosen. Every choice is checked when the space is declared: its type must be the
parameter's (as `--set` would parse it), it may appear once, and the spec must load with it;
a bad one is one SpecError line naming the file, the line and the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

from ..errors import OptionError, SpecError
from ..limits import MAX_SPACE_GRID_POINTS, MAX_SPACE_SIZE
from ..numbers import quote
from ..report.space import shown_path, value_text  # noqa: F401  (re-exported)

PARSE_CACHE = 1024          # specs kept per space (one per choice value, while declaring)


@dataclass(frozen=True)
class Choice:
    """One choice parameter: its name, its values (in declared order), its default's position
    and the spec line that declares it."""
    name: str
    values: tuple
    default: int
    line: int | None

    @property
    def radix(self) -> int:
        return len(self.values)


@dataclass
class Space:
    """A declared space: the spec text (so a worker process can rebuild it without the file),
    the fixed --set values, the convention and dtype, the choices and the grid."""
    text: str
    path: str
    sets: dict                   # fixed parameters (--set), as given
    convention: Any              # archcalc.cost.Convention
    dtype: str
    choices: tuple               # Choice, in declared order
    widths: tuple = (None,)      # None: the spec's width (1)
    resolutions: tuple = (None,)  # None: the spec's own resolution
    grid_given: tuple = (False, False)
    base: Any = field(default=None, repr=False, compare=False)   # the spec at the defaults
    _parsed: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_choices(self) -> int:
        out = 1
        for c in self.choices:
            out *= c.radix
        return out

    @property
    def n_grid(self) -> int:
        return len(self.widths) * len(self.resolutions)

    @property
    def size(self) -> int:
        return self.n_grid * self.n_choices

    @property
    def strides(self) -> tuple:
        """Index stride of each choice parameter's digit (the last parameter's is 1)."""
        out, s = [], 1
        for c in reversed(self.choices):
            out.append(s)
            s *= c.radix
        return tuple(reversed(out))

    def grid_point(self, g: int) -> tuple:
        """(width, resolution) of grid point g (None: the spec's own)."""
        return self.widths[g // len(self.resolutions)], self.resolutions[g % len(self.resolutions)]

    def digits(self, index: int) -> tuple:
        """(grid point, digit of each choice parameter) of an architecture index."""
        if not 0 <= index < self.size:
            raise OptionError(f"architecture index {index} is outside the space [0, {self.size:,})")
        g, rest = divmod(index, self.n_choices)
        return g, tuple((rest // s) % c.radix for s, c in zip(self.strides, self.choices))

    def assignment(self, index: int) -> dict:
        """{parameter: value} of the choices of an architecture."""
        _, digits = self.digits(index)
        return {c.name: c.values[d] for c, d in zip(self.choices, digits)}

    def sets_for(self, index: int) -> dict:
        """The `--set NAME=VALUE` texts (fixed parameters, then the choices) that make
        `archcalc report` build this architecture."""
        out = {k: str(v) for k, v in self.sets.items()}
        out.update({k: value_text(v) for k, v in self.assignment(index).items()})
        return out

    def parse(self, overrides: Mapping | None = None):
        """The spec with the fixed --set values and `overrides` ({choice: value}) bound."""
        from ..spec import parse_spec
        key = tuple(sorted((overrides or {}).items()))
        if key not in self._parsed:
            if len(self._parsed) >= PARSE_CACHE:
                self._parsed.clear()
            self._parsed[key] = parse_spec(self.text, self.path,
                                           {**self.sets, **(overrides or {})},
                                           self.convention.param_defaults())
        return self._parsed[key]

    def __getstate__(self):              # shipped to worker processes without the cache
        state = dict(self.__dict__)
        state["_parsed"] = {}
        return state


def declare(spec_path, sets: Mapping[str, Any] | None = None, convention="paper",
            dtype: str = "fp32", widths=None, resolutions=None) -> Space:
    """The space of the spec at `spec_path` (a file or a zoo name): every choice checked.
    `widths` and `resolutions` are grid texts (as `archcalc sweep` takes) or None."""
    from ..api import convention_named
    from ..cost import DTYPE_BYTES
    from ..spec.load import read_spec_text
    from ..zoo import resolve
    if dtype not in DTYPE_BYTES:
        raise OptionError(f"unknown dtype {dtype!r} (known: {', '.join(DTYPE_BYTES)})")
    conv = convention_named(convention)
    path = _spaces_zoo(resolve(spec_path))
    text = read_spec_text(path)
    sets = dict(sets or {})
    space = Space(text=text, path=path, sets=sets, convention=conv, dtype=dtype, choices=())
    base = space.parse()                        # unknown --set names and bad values fail here
    choices = tuple(Choice(p.name, tuple(p.choices), p.choices.index(p.value), p.line)
                    for p in base.params if p.choices is not None and p.name not in sets)
    space.choices, space.base = choices, base
    for c in choices:
        _check_choices(space, c)
    ws, rs = _grid(base, widths, resolutions)
    space.widths, space.resolutions = ws, rs
    space.grid_given = (widths is not None, resolutions is not None)
    if space.size > MAX_SPACE_SIZE:
        raise OptionError(f"the space has {space.size:,} architectures (limit MAX_SPACE_SIZE = "
                          f"{MAX_SPACE_SIZE:,}): fix some choices with --set")
    return space


def _spaces_zoo(path: str) -> str:
    """A bare name of a space that ships with archcalc (zoo/specs/spaces/NAME.yaml) as its
    file: `archcalc space mobilenet_v2_space` from any directory."""
    import os
    from ..zoo import zoo_dir
    name = path[4:] if path.startswith("zoo:") else path
    name = name[:-5] if name.endswith(".yaml") else name
    name = name[7:] if name.startswith("spaces/") else name
    if os.path.exists(path) or not name.replace("_", "").isalnum():
        return path
    candidate = zoo_dir() / "spaces" / f"{name}.yaml"
    return str(candidate) if candidate.is_file() else path


def _choices_line(space: Space, c: Choice) -> int | None:
    """The line of `params.NAME.choices` (re-read only when an error needs it)."""
    from ..spec.yamlio import load_yaml
    try:
        body = load_yaml(space.text, space.path)["params"][c.name]
        return body.key_lines.get("choices", c.line)
    except (SpecError, KeyError, TypeError, AttributeError):
        return c.line


def _check_choices(space: Space, c: Choice) -> None:
    """Each value once, of the parameter's type (the default's, as --set parses it), and a
    spec that loads with it."""
    key = f"params.{c.name}.choices"
    default = c.values[c.default]
    seen = set()
    for v in c.values:
        numeric = isinstance(default, Fraction) and isinstance(v, int) and not isinstance(v, bool)
        if type(v) is not type(default) and not numeric:
            kind = {bool: "true or false", int: "an integer", Fraction: "a number",
                    str: "a word"}.get(type(default), type(default).__name__)
            raise SpecError(f"choice {quote(v)} is not of the default's type ({kind})",
                            path=space.path, line=_choices_line(space, c), key=key)
        if value_text(v) in seen:
            raise SpecError(f"{quote(value_text(v))} is listed twice (each choice once)",
                            path=space.path, line=_choices_line(space, c), key=key)
        seen.add(value_text(v))
        try:
            space.parse({c.name: value_text(v)})    # exactly as --set NAME=VALUE would
        except SpecError as err:
            if err.key == f"--set {c.name}":         # the value itself: below min, above max
                raise SpecError(f"choice {quote(value_text(v))}: {err.message}", path=space.path,
                                line=_choices_line(space, c), key=key) from None
            raise SpecError(f"{err.message} (with the choice {c.name}={value_text(v)}, "
                            f"line {c.line})", path=err.path, line=err.line, key=err.key,
                            hint=err.hint) from None


def _grid(base, widths, resolutions) -> tuple:
    from ..design.grid import parse_resolutions, parse_widths
    from ..graph.compile import parse_width
    ws = tuple(parse_width(w) for w in parse_widths(widths)) if widths is not None else (None,)
    rs = tuple(parse_resolutions(resolutions, base.resolution)) if resolutions is not None \
        else (None,)
    if resolutions is not None and not base.square:
        raise OptionError(f"--resolutions needs a square input; this spec's is {base.resolution}")
    if len(ws) * len(rs) > MAX_SPACE_GRID_POINTS:
        raise OptionError(f"the grid has {len(ws) * len(rs):,} points ({len(ws):,} widths x "
                          f"{len(rs):,} resolutions; limit MAX_SPACE_GRID_POINTS = "
                          f"{MAX_SPACE_GRID_POINTS:,}): each point costs its own stage tables")
    return ws, rs
