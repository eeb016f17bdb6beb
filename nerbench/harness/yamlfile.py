"""YAML that remembers where each key was, so a bad suite entry names its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nerbench.errors import InputError


class LineDict(dict[str, Any]):
    """A mapping from a YAML file that knows each key's line (1-based)."""

    lines: dict[str, int]
    line: int | None = None


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.lines = {}
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise InputError(f"duplicate key {key!r}", path=loader.name, line=key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> tuple[Any, str]:
    """The parsed document and the raw text; YAML errors name file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file: check the path", path=path) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 (byte {err.start}): save the file as UTF-8", path=path) from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", path=path, line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    return data, text


def line_of(mapping: Any, key: str | None = None) -> int | None:
    """The line of ``key`` in a mapping read by :func:`load_yaml` (or of the mapping itself)."""
    if isinstance(mapping, LineDict):
        if key is not None and key in mapping.lines:
            return mapping.lines[key]
        return mapping.line
    return None
