"""Reading a run directory's big files a piece at a time: the report keeps only what it shows.

``details/M__D.json`` is one JSON object whose lists grow with the corpus: :func:`object_items` yields its
members, a streamed list's items one at a time. ``gold/`` and ``predictions/`` are JSON lines:
:func:`lines_with_ids` keeps the lines of a few documents and a digest of every line's id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nerbench.errors import InputError

_READ = 1 << 20
_SPACE = " \t\n\r"
_DECODER = json.JSONDecoder()
_ID_PREFIX = '{"id": '  # how nerbench writes a line: the id first


class IdDigest:
    """A digest of document ids in order: two equal digests are the same documents in the same order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, doc_id: str) -> None:
        data = doc_id.encode("utf-8", "surrogatepass")
        self._hash.update(b"%d:" % len(data) + data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _Reader:
    """JSON values read one at a time from a text file, a megabyte of it in memory at most (plus one value)."""

    def __init__(self, fh: IO[str]) -> None:
        self.fh, self.buf, self.pos, self.eof = fh, "", 0, False

    def _fill(self) -> None:
        chunk = self.fh.read(_READ)
        self.eof = not chunk
        self.buf, self.pos = self.buf[self.pos :] + chunk, 0

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos : self.pos + 1]
            self._fill()

    def take(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.peek()!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self.eof:
                    raise
            else:
                if end < len(self.buf) or self.eof:  # a number at the buffer's end may go on in the next read
                    self.pos = end
                    return value
            self._fill()


@dataclass(frozen=True)
class Item:
    """One member of the object (``key``, ``value``), or with ``streamed`` one item of the list under ``key``."""

    key: str
    value: Any
    streamed: bool = False


def object_items(fh: IO[str], streamed: Collection[str]) -> Iterator[Item]:
    """The members of the JSON object in ``fh``; the lists under the keys in ``streamed`` item by item.

    Raises ValueError (a :class:`json.JSONDecodeError` among them) where the text is not a JSON object.
    """
    reader = _Reader(fh)
    reader.take("{")
    if reader.peek() == "}":
        return
    while True:
        key = reader.value()
        if not isinstance(key, str):
            raise ValueError("an object key that is not a string")
        reader.take(":")
        if key in streamed and reader.peek() == "[":
            reader.take("[")
            if reader.peek() == "]":
                reader.take("]")
            else:
                while True:
                    yield Item(key, reader.value(), streamed=True)
                    if reader.peek() != ",":
                        reader.take("]")
                        break
                    reader.take(",")
        else:
            yield Item(key, reader.value())
        if reader.peek() != ",":
            reader.take("}")
            return
        reader.take(",")


def _line_id(line: str, path: Path, number: int) -> tuple[str, dict[str, Any] | None]:
    """A line's document id, read without decoding the rest when the line starts as nerbench writes it (the
    whole line decoded otherwise, and then returned)."""
    if line.startswith(_ID_PREFIX + '"'):
        try:
            doc_id, _ = _DECODER.raw_decode(line, len(_ID_PREFIX))
            return str(doc_id), None
        except ValueError:
            pass
    data = _decoded(line, path, number)
    return str(data["id"]), data


def _decoded(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as err:
        raise InputError(f"not a file nerbench wrote ({err!r}): run the suite again", path=path, line=number) from None
    if not isinstance(data, dict) or "id" not in data:
        why = "a line is not an object with an id"
        raise InputError(f"not a file nerbench wrote ({why}): run the suite again", path=path, line=number)
    return data


def line_ids(path: Path) -> set[str]:
    """Every document id in a JSON lines file (for a gold file that is not its cells' documents)."""
    ids: set[str] = set()
    try:
        with path.open(encoding="utf-8", newline="\n") as fh:
            ids.update(_line_id(line, path, n)[0] for n, line in enumerate(fh, 1) if line.strip())
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"not a file nerbench wrote ({err!r}): run the suite again", path=path) from None
    return ids


def lines_with_ids(path: Path, wanted: Collection[str]) -> tuple[dict[str, dict[str, Any]], str, int]:
    """The lines of the documents in ``wanted`` (a later line with the same id replaces an earlier one), the
    digest of every line's id in file order and how many lines there are. An absent file has no lines."""
    found: dict[str, dict[str, Any]] = {}
    digest, count = IdDigest(), 0
    if not path.exists():
        return found, digest.hexdigest(), 0
    try:
        with path.open(encoding="utf-8", newline="\n") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                doc_id, data = _line_id(line, path, number)
                digest.add(doc_id)
                count += 1
                if doc_id in wanted:
                    found[doc_id] = data if data is not None else _decoded(line, path, number)
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"not a file nerbench wrote ({err!r}): run the suite again", path=path) from None
    return found, digest.hexdigest(), count
