"""Safe YAML loading that remembers the line of every mapping key and sequence item.

Built on yaml.SafeLoader, so tags that construct Python objects are refused. Mappings load
as `Located` dicts (with .line and .key_lines), sequences as `LocatedList` (with .line and
.item_lines); duplicate keys are an error rather than a silent overwrite.
"""
from __future__ import annotations

import yaml

from ..errors import SpecError


class Located(dict):
    line: int = 0
    key_lines: dict


class LocatedList(list):
    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    pass


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


def load_yaml(text: str, path: str):
    """Parse YAML text; any syntax error or refused tag becomes a one-line SpecError."""
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
    except RecursionError:
        raise SpecError("YAML nested too deeply", path=path) from None
