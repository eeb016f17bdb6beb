"""A JSONL file read a block of lines at a time: the documents ``JsonlFormat.read`` gives, in bounded memory.

Each line is parsed and checked as the whole-file reader does (:func:`~nerbench.adapters.data.jsonl.
parse_document`); the ids seen so far are kept to refuse a repeated one. A file with an error, a line ending
in a lone ``"\\r"``, bytes that are not UTF-8 or a wide encoding raises NotStreamable, and is read whole.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from nerbench.adapters.data import jsontext
from nerbench.adapters.data.base import ReadOptions, wide_encoding
from nerbench.adapters.data.blocks import BlockStats, NotStreamable
from nerbench.adapters.data.jsonl import _SKIPPED_ANSWERS, _answer, parse_document
from nerbench.errors import InputError
from nerbench.types import Document

BLOCK_LINES = 10_000


def read_jsonl_blocks(
    path: Path, options: ReadOptions, stats: BlockStats, size: int | None = None
) -> Iterator[list[Document]]:
    """The file's documents, ``size`` lines at a time; raises NotStreamable where the whole-file read decides."""
    if not path.is_file():
        raise NotStreamable("not a file")
    size = size or BLOCK_LINES
    seen: set[str] = set()
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
