"""Safe YAML loading that remembers the line of every mapping key and sequence item.

Built on yaml.SafeLoader, so tags that construct Python objects are refused. Mappings load
as `Located` dicts (with .line and .key_lines), sequences as `LocatedList` (with .line and
.item_lines); duplicate keys are an error rather than a silent overwrite.

Plain scalars resolve by YAML 1.2's core schema (yaml.org/spec/1.2.2, Sec. 10.3), not
PyYAML's YAML 1.1 rules: `010` is 10 (not octal 8), `1:30` is text (not sexagesimal 90),
`yes`/`no`/`on`/`off` are text (only true/false are booleans), ints are decimal, 0o octal or
0x hex, floats include .inf and .nan, null is `null`, `~` or nothing. (Merge keys `<<` are
kept.) Every input is bounded while it is parsed, never by exhausting the stack or memory:
nesting depth (MAX_YAML_DEPTH) is counted as nodes are composed, the number of values after
expanding aliases (MAX_YAML_NODES) is computed once per composed node from its children's
counts (an alias reuses its anchor's count), and a number's text is at most
MAX_NUMBER_CHARS long.
"""
from __future__ import annotations

import math
import re

import yaml

from ..errors import SpecError
from ..limits import MAX_NUMBER_CHARS, MAX_YAML_DEPTH, MAX_YAML_NODES


class Located(dict):
    line: int = 0
    key_lines: dict


class LocatedList(list):
    line: int = 0
    item_lines: list


# YAML 1.2 core schema (Sec. 10.3.2, "Tag Resolution"), plus PyYAML's merge key.
_CORE = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+.0123456789"),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
]


class _Bounds:
    """The composer's bounds (nesting depth, values after expanding aliases), for a loader
    whose composer is PyYAML's Python Composer."""

    _depth = 0
    _sizes: dict               # id(node) -> (values, depth) of its expansion

    def compose_node(self, parent, index):
        """Compose one node, refusing nesting deeper than MAX_YAML_DEPTH as it is met and
        expansions with more than MAX_YAML_NODES values (counted from the children)."""
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise SpecError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep "
                                f"(limit MAX_YAML_DEPTH)", line=mark.line + 1)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = self._size(node)
        return node

    def _size(self, node) -> tuple:
        """(values, depth) of the node's expansion, from its children's (already known: a
        child is composed before its parent, an alias's anchor before the alias)."""
        if isinstance(node, yaml.ScalarNode):
            return 1, 0
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [n for pair in node.value for n in pair]
        total, depth = 1, 0
        for child in children:
            size = self._sizes.get(id(child))
            if size is None:       # an alias of a node still being composed: it contains itself
                raise SpecError("a YAML alias refers to a value that contains it",
                                line=child.start_mark.line + 1)
            total, depth = total + size[0], max(depth, size[1])
            if total > MAX_YAML_NODES:
                raise SpecError(f"more than {MAX_YAML_NODES:,} values after expanding YAML "
                                f"aliases (limit MAX_YAML_NODES)", line=node.start_mark.line + 1)
        if depth + 1 > MAX_YAML_DEPTH:
            raise SpecError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep after expanding "
                            f"aliases (limit MAX_YAML_DEPTH)", line=node.start_mark.line + 1)
        return total, depth + 1


class _Loader(_Bounds, yaml.SafeLoader):
    yaml_implicit_resolvers: dict = {}     # replaced below by the core schema's

    def __init__(self, stream):
        super().__init__(stream)
        self._sizes = {}


if getattr(yaml, "__with_libyaml__", False):
    class _FastLoader(_Bounds, yaml.composer.Composer, yaml.cyaml.CParser,
                      yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """_Loader with libyaml's scanner and parser (C) under the same Python composer,
        constructors and resolvers: the same nodes, lines and values, several times faster.
        load_yaml uses it only where _libyaml_agrees(text) and falls back to
        _Loader wherever it fails, so errors read as before."""

        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._sizes = {}
else:                                       # PyYAML built without libyaml
    _FastLoader = None
# Text where libyaml and PyYAML's Python scanner may disagree on valid input (tabs as
# separators, a BOM inside the text, tags, block scalars, directives) goes to the Python
# parser only; elsewhere they agree (tests/test_yaml_fast.py compares them).
_PYTHON_ONLY = re.compile("[!|>%]")
_LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")
_MARKER = re.compile("(?:^|[\n\r\x85\u2028\u2029])(?:---|\\.\\.\\.)")   # document markers


def _libyaml_agrees(text: str) -> bool:
    """Whether the text is free of what the two parsers may read differently: no tab, no BOM
    and no document marker (--- or ... at a line's start) anywhere, and none of ! | > %
    outside comments. A comment here is a `#` at the start
    of a line or after a space with no quote before it on its line; anything else counts."""
    if "\t" in text or "\ufeff" in text or _MARKER.search(text) is not None:
        return False
    if _PYTHON_ONLY.search(text) is None:
        return True
    for line in _LINE_BREAKS.split(text):
        i = line.find("#")
        while i > 0 and line[i - 1] != " ":
            i = line.find("#", i + 1)
        if i >= 0 and "'" not in line[:i] and '"' not in line[:i]:
            line = line[:i]
        if _PYTHON_ONLY.search(line) is not None:
            return False
    return True

for _tag, _pattern, _first in _CORE:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _number_text(loader: _Loader, node) -> str:
    text = loader.construct_scalar(node)
    if len(text) > MAX_NUMBER_CHARS:
        raise SpecError(f"a number of at most {MAX_NUMBER_CHARS} characters is expected, got "
                        f"{len(text):,} characters (limit MAX_NUMBER_CHARS)",
                        line=node.start_mark.line + 1)
    return text.strip()


_INT = re.compile(_CORE[2][1])
_FLOAT = re.compile(_CORE[3][1])


def _int(loader: _Loader, node) -> int:
    text = _number_text(loader, node)
    try:
        if not _INT.match(text):
            raise ValueError(text)
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)
    except ValueError:
        raise SpecError(f"not an integer: {text[:MAX_NUMBER_CHARS]!r}",
                        line=node.start_mark.line + 1) from None


def _float(loader: _Loader, node) -> float:
    text = _number_text(loader, node)
    special = text.lstrip("+-").lower()
    if special in (".inf", ".nan"):
        value = math.inf if special == ".inf" else math.nan
        return -value if text.startswith("-") else value
    try:
        if not _FLOAT.match(text):
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise SpecError(f"not a number: {text[:MAX_NUMBER_CHARS]!r}",
                        line=node.start_mark.line + 1) from None


def _bool(loader: _Loader, node) -> bool:
    text = loader.construct_scalar(node)
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    raise SpecError("!!bool takes true or false", line=node.start_mark.line + 1)


def _refused(loader: _Loader, node):
    raise SpecError(f"YAML tag {node.tag} is not supported", line=node.start_mark.line + 1)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise SpecError("mapping keys must be plain words", line=key_node.start_mark.line + 1)
        if key in out:
            raise SpecError("duplicate key", line=key_node.start_mark.line + 1, key=str(key))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    out = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)
_Loader.add_constructor("tag:yaml.org,2002:bool", _bool)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _refused)
if _FastLoader is not None:                 # the same constructors and resolvers
    _FastLoader.yaml_constructors = _Loader.yaml_constructors
    _FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _FastLoader.yaml_path_resolvers = _Loader.yaml_path_resolvers


def load_yaml(text: str, path: str):
    """Parse YAML text; any syntax error, refused tag or limit becomes a one-line SpecError.
    libyaml's parser (_FastLoader) reads it where it can; wherever that fails for any reason
    the text is read again by the Python parser (_Loader), whose result or error is the one
    given, as before the fast path existed."""
    if _FastLoader is not None and _libyaml_agrees(text):
        try:
            return yaml.load(text, Loader=_FastLoader)  # noqa: S506 (SafeConstructor)
        except Exception:                   # noqa: BLE001 (re-read below, errors as before)
            pass
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except SpecError as err:
        raise err.located(path) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = (err.problem or err.context or "invalid YAML").strip()
        if isinstance(err, yaml.constructor.ConstructorError) and "tag" in problem:
            problem = "YAML tags that construct objects are not allowed (" + problem + ")"
        raise SpecError(f"YAML syntax error: {problem}", path=path,
                        line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as err:
        raise SpecError(f"YAML error: {err}".splitlines()[0], path=path) from None
    except (ValueError, TypeError, LookupError, AttributeError) as err:   # an explicit !!tag
        raise SpecError(f"YAML error: a value cannot be constructed ({type(err).__name__})",
                        path=path) from None
