"""JSON text for the readers: parsed with limits, every failure one clear :class:`InputError`.

``json`` alone turns hostile input into tracebacks or into values nerbench cannot use:
deep nesting raises RecursionError, a number of thousands of digits ValueError, and an
escape such as ``"\\ud800"`` makes a lone surrogate that parses, then fails when a
command writes it as UTF-8. Here nesting deeper than :data:`MAX_DEPTH` and lone
surrogates anywhere (keys included) are refused where they are read, naming the line,
so every command that reads the file says the same thing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from nerbench.errors import InputError

MAX_DEPTH = 100  # nerbench's formats nest under 10 levels; json itself gives up near 1,000
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DECODER = json.JSONDecoder()


def loads(text: str, *, path: object, line: int) -> Any:
    """``json.loads`` of one line (line ``line`` of the file), checked as :func:`decode_at` checks.

    orjson parses first: it refuses lone surrogates, numbers Python's ``json`` would read as infinity and
    trailing data itself; whatever it refuses goes through the careful path for the exact message.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if text.count("[") + text.count("{") <= MAX_DEPTH or not _depth_over(value, MAX_DEPTH):
            return value
    start = len(text) - len(text.lstrip(" \t\n\r"))
    value, end = decode_at(text, start, path=path, first_line=line)
    if text[end:].strip(" \t\n\r"):
        raise InputError(
            f"invalid JSON (extra data after the value, column {end + 1}): one JSON value per line",
            path=str(path),
            line=line,
        )
    return value


def decode_at(text: str, pos: int, *, path: object, first_line: int = 1) -> tuple[Any, int]:
    """The JSON value starting at ``pos`` of ``text`` and where it ends, checked.

    ``text`` begins on line ``first_line`` of the file. Bad JSON names the line of the
    fault; nesting deeper than :data:`MAX_DEPTH`, a number too long for Python and a lone
    surrogate name the line where the value starts.
    """
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as err:
        raise InputError(
            f"invalid JSON ({err.msg}, column {err.colno})", path=str(path), line=first_line + err.lineno - 1
        ) from None
    except RecursionError:
        raise _too_deep(path, first_line + text.count("\n", 0, pos)) from None
    except ValueError:  # an integer over Python's digit limit (4,300)
        problem = "a number in the JSON has thousands of digits: no offset or id is that long; check the file"
        raise InputError(problem, path=str(path), line=first_line + text.count("\n", 0, pos)) from None
    if text.count("[", pos, end) + text.count("{", pos, end) > MAX_DEPTH and _depth_over(value, MAX_DEPTH):
        raise _too_deep(path, first_line + text.count("\n", 0, pos))
    if _SURROGATE_ESCAPE.search(text, pos, end):
        check_strings(value, path=path, line=first_line + text.count("\n", 0, pos))
    return value, end


def _too_deep(path: object, line: int | None) -> InputError:
    return InputError(
        f"JSON nested deeper than {MAX_DEPTH} levels: no gold format nests so deep; check the file",
        path=str(path),
        line=line,
    )


def _depth_over(value: Any, limit: int) -> bool:
    """True when lists and objects nest more than ``limit`` levels (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_strings(value: Any, *, path: object, line: int | None) -> None:
    """Raise when a string (or object key) in ``value`` holds a lone surrogate."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found = _SURROGATE.search(node)
            if found:
                raise InputError(
                    f"a \\u escape makes a lone surrogate (U+{ord(found[0]):04X}), which is no character: "
                    "fix the escape (a character above U+FFFF needs a pair, e.g. \\ud83d\\ude00)",
                    path=str(path),
                    line=line,
                )
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def has_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (it cannot be written as UTF-8)."""
    return _SURROGATE.search(text) is not None
