"""Reader options given in a suite (``scheme``, ``tag_column``, ``options: {...}``), checked before anything is read.

Each is checked by name and type against :class:`~nerbench.adapters.data.base.ReadOptions`
(a YAML boolean is not a number), then by value (``ReadOptions`` refuses an unknown scheme,
repair policy, grouping): ``scheme: 5`` or ``tag_column: abc`` is one line naming the suite's
line, never a crash in a reader.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from nerbench.adapters.data.base import ReadOptions
from nerbench.errors import ConfigError

TYPES = typing.get_type_hints(ReadOptions)


def reader_option_problem(options: Mapping[str, Any]) -> tuple[str | None, str] | None:
    """The first bad option, as (its key, or None when the combination is bad; the problem), or None."""
    for name, item in options.items():
        if name not in TYPES:
            return name, f"unknown reader option {name!r}: use one of {', '.join(TYPES)}"
        if not _fits(item, TYPES[name]):
            return name, f"reader option {name!r} must be {_type_name(TYPES[name])}, got {item!r}"
    try:
        ReadOptions(**options)
    except ConfigError as err:
        return None, f"reader options: {err}"
    return None


def _fits(item: Any, wanted: Any) -> bool:
    """Whether a YAML value has the type of a :class:`ReadOptions` field."""
    if wanted is bool:
        return isinstance(item, bool)
    if wanted in (int, str):
        return isinstance(item, wanted) and not isinstance(item, bool)
    if typing.get_origin(wanted) is dict:
        return isinstance(item, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in item.items())
    args = typing.get_args(wanted)
    if args:  # X | None
        return any(_fits(item, a) for a in args)
    return item is None if wanted is type(None) else isinstance(item, wanted)


def _type_name(wanted: Any) -> str:
    if typing.get_origin(wanted) is dict:
        return "a mapping of strings to strings"
    names = {bool: "true or false", int: "an integer", str: "a string", type(None): "empty"}
    return " or ".join(names.get(a, str(a)) for a in (typing.get_args(wanted) or (wanted,)))
