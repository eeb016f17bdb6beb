"""A JSONL file read a block of lines at a time: the documents ``JsonlFormat.read`` gives, in bounded memory.

Each line is parsed and checked as the whole-file reader does (:func:`~nerbench.adapters.data.jsonl.
parse_document`). A repeated id is found at the end from a 64-bit hash of each id (8 bytes a document, not
the ids themselves); a repeat (or a hash collision) sends the file to the whole-file read, which names the
line. A file with an error, a line ending
in a lone ``"\\r"``, bytes that are not UTF-8 or a wide encoding raises NotStreamable, and is read whole.
"""

from __future__ import annotations

import codecs
from array import array
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nerbench.adapters.data import jsontext
from nerbench.adapters.data.base import ReadOptions, wide_encoding
from nerbench.adapters.data.blocks import BlockStats, NotStreamable
from nerbench.adapters.data.jsonl import _SKIPPED_ANSWERS, _answer, parse_document
from nerbench.errors import InputError
from nerbench.types import Document

BLOCK_LINES = 10_000


class _IdHashes(set[str]):
    """Stands in for the reader's set of seen ids: keeps a hash of each id, and admits every id."""

    def __init__(self) -> None:
        super().__init__()
        self.hashes = array("q")

    def __contains__(self, doc_id: object) -> bool:
        return False

    def add(self, doc_id: str) -> None:
        self.hashes.append(hash(doc_id))

    def repeated(self) -> bool:
        ordered = np.sort(np.frombuffer(self.hashes, dtype=np.int64))
        return bool(np.any(ordered[1:] == ordered[:-1]))


def read_jsonl_blocks(
    path: Path, options: ReadOptions, stats: BlockStats, size: int | None = None
) -> Iterator[list[Document]]:
    """The file's documents, ``size`` lines at a time; raises NotStreamable where the whole-file read decides."""
    if not path.is_file():
        raise NotStreamable("not a file")
    size = size or BLOCK_LINES
    seen = _IdHashes()
    block: list[Document] = []
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if number == 1:
                    if wide_encoding(raw) is not None:
                        raise NotStreamable("a UTF-16 or UTF-32 file")
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                if b"\r" in raw.removesuffix(b"\r\n"):
                    raise NotStreamable("lines that end in a lone carriage return")
                line = raw.decode("utf-8")
                if not line.strip():
                    continue
                obj = jsontext.loads(line, path=path, line=number)
                if not isinstance(obj, dict):
                    raise NotStreamable("a line that is not an object")
                if _answer(obj, path, number) in _SKIPPED_ANSWERS:
                    continue
                block.append(parse_document(obj, path=path, line=number, seen=seen, options=options))
                if len(block) >= size:
                    stats.documents += len(block)
                    yield block
                    block = []
    except (InputError, UnicodeDecodeError, OSError):
        raise NotStreamable("an error the whole file names") from None
    stats.documents += len(block)
    if block:
        yield block
    if not stats.documents:
        raise NotStreamable("no documents: the whole-file read says what is wrong")
    if seen.repeated():
        raise NotStreamable("a repeated id: the whole-file read names its line")
