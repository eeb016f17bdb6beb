"""YAML that remembers where each key was, so a bad suite entry names its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nerbench.errors import InputError
from nerbench.limits import YAML_MAX_ALIAS_GROWTH, YAML_MAX_DEPTH


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


MAX_DEPTH = YAML_MAX_DEPTH
MAX_ALIAS_GROWTH = YAML_MAX_ALIAS_GROWTH


def load_yaml(path: Path) -> tuple[Any, str]:
    """The parsed document and the raw text; YAML errors name file and line.

    Before anything is built, the document is refused when it nests deeper than
    :data:`MAX_DEPTH` or its aliases would expand it by more than :data:`MAX_ALIAS_GROWTH` values.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file: check the path", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory: give the suite's YAML file", path=path) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 (byte {err.start}): save the file as UTF-8", path=path) from None
    except OSError as err:
        raise InputError(f"cannot read the file: {err.strerror or err}", path=path) from None
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as err:
        line = text[: err.position].count("\n") + 1
        raise InputError(f"invalid YAML: {_reader_problem(err)}", path=path, line=line) from None
    loader.name = str(path)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", path=path, line=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise InputError(f"invalid YAML: nested deeper than {MAX_DEPTH} levels", path=path) from None
    finally:
        loader.dispose()
    return data, text


def _reader_problem(err: yaml.reader.ReaderError) -> str:
    if isinstance(err.character, int):
        return f"unacceptable character U+{err.character:04X} ({err.reason}): remove it"
    return str(err.reason)


def _check_size(root: yaml.Node, path: Path) -> None:
    """Refuse a document too deep, or whose aliases would expand it past the limit, without expanding it.

    Each node's expanded size and depth are computed once (an alias is the same node object), so a
    "billion laughs" document costs as many steps as it has written nodes.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, levels) once its aliases are expanded
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            below = [sizes[id(child)] for child in _children(node)]
            sizes[key] = (1 + sum(n for n, _ in below), 1 + max((d for _, d in below), default=0))
            if sizes[key][1] > MAX_DEPTH:
                raise InputError(f"invalid YAML: nested deeper than {MAX_DEPTH} levels", path=path,
                                 line=node.start_mark.line + 1)  # fmt: skip
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise InputError("invalid YAML: an alias refers to a value that contains it", path=path,
                             line=node.start_mark.line + 1)  # fmt: skip
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    expanded, written = sizes[id(root)][0], len(sizes)
    if expanded - written > MAX_ALIAS_GROWTH:
        raise InputError(
            f"invalid YAML: its aliases expand it to {expanded:,} values, {expanded - written:,} more than it holds "
            f"(at most {MAX_ALIAS_GROWTH:,}): write the values out, or use fewer aliases",
            path=path,
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def line_of(mapping: Any, key: str | None = None) -> int | None:
    """The line of ``key`` in a mapping read by :func:`load_yaml` (or of the mapping itself)."""
    if isinstance(mapping, LineDict):
        if key is not None and key in mapping.lines:
            return mapping.lines[key]
        return mapping.line
    return None
