"""Expanded ``${VAR}`` values never leave the process: each is replaced by ``${VAR}`` again on the way out.

The suite loader calls :func:`remember` for every value it expands from the
environment; every boundary where text leaves the process or enters the store
(what the runner stores, the run directory, the CLI's output, error messages,
``--debug`` tracebacks) passes it through :func:`text` or :func:`value`. The
values stay usable inside the process (an adapter connects to the expanded
URL; a cache key is a hash over them), so two environments still give distinct
cache keys, and what is written says only which variable was used.

Values shorter than :data:`MIN_LENGTH` characters are not replaced: they cannot
hold a secret, and replacing them would garble every text they occur in.
"""

from __future__ import annotations

import io
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, TextIO

MIN_LENGTH = 4

_known: dict[str, str] = {}  # value (or a form of it a library may print) -> "${NAME}"
_pattern: re.Pattern[str] | None = None


def remember(name: str, value: str, *, written: str = "") -> None:
    """Record that ``${name}`` expanded to ``value``: from now on it is written as ``${name}``.

    ``written`` is the text the value came from (the suite file): a value that text already holds
    (a model named like the model its ``${VAR}`` picks) is no secret, and names stay as written.
    """
    global _pattern
    placeholder = "${" + name + "}"
    forms = {value, value.strip(), value.rstrip("/"), urllib.parse.quote(value, safe=""),
             urllib.parse.quote(value, safe="/:")}  # fmt: skip
    for form in forms:
        if len(form) >= MIN_LENGTH and form != placeholder and form not in written:
            _known.setdefault(form, placeholder)
    _pattern = None


def forget() -> None:
    """Forget every value (for tests, and for a process that loads another suite in a new context)."""
    global _pattern
    _known.clear()
    _pattern = None


def active() -> bool:
    """Whether any value is being redacted."""
    return bool(_known)


def _regex() -> re.Pattern[str]:
    global _pattern
    if _pattern is None:
        _pattern = re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))
    return _pattern


def text(s: str) -> str:
    """``s`` with every remembered value replaced by its ``${NAME}``."""
    if not _known or not s:
        return s
    return _regex().sub(lambda m: _known[m.group(0)], s)


def value(obj: Any) -> Any:
    """A copy of a JSON-like value (mappings, lists, tuples, strings) with every string redacted, keys too."""
    if not _known:
        return obj
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, Mapping):
        return {text(k) if isinstance(k, str) else k: value(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [value(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(value(v) for v in obj)
    return obj


class RedactingStream(io.TextIOBase):
    """A text stream that redacts each write before passing it to ``target`` (stdout, stderr)."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target

    def write(self, s: str) -> int:
        self.target.write(text(s))
        return len(s)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.target, "encoding", "utf-8"))

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "errors", None)
