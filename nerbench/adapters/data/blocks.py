"""Gold and prediction files read a block of documents at a time, for scoring files too large to hold whole.

A format reads in blocks only where its blocks give exactly the documents of a whole-file read (see
:mod:`~nerbench.adapters.data.conll_blocks` and :mod:`~nerbench.adapters.data.jsonl_blocks`); anywhere
else, or wherever only the whole file can decide (an error, the detected scheme), :class:`NotStreamable`
sends the caller back to ``read_corpus``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nerbench.adapters.data.base import ReadOptions
from nerbench.types import Document


class NotStreamable(Exception):
    """Only a whole-file read can give this file's documents (or its error): read it with ``read_corpus``."""


@dataclass
class BlockStats:
    """What the reader learnt once every block was read: what ``Corpus`` says beside the documents."""

    scheme: str | None = None
    repairs: int = 0
    empty_chunks: int = 0
    documents: int = 0
    tags: set[str] = field(default_factory=set)
    i_starts: int = 0
    b_starts: int = 0
    scanned: bool = True

    @property
    def notes(self) -> tuple[str, ...]:
        empty = self.empty_chunks
        return (f"{empty} entities made only of empty tokens were skipped (no character span)",) if empty else ()


def read_blocks(path: Path, format: str, options: ReadOptions, stats: BlockStats) -> Iterator[list[Document]]:
    """The documents of ``path`` (a file in the named format) in blocks; raises NotStreamable for a format that
    is read whole, or (possibly after the last block) where a whole-file read must decide."""
    if format == "conll":
        from nerbench.adapters.data.conll_blocks import read_conll_blocks

        return read_conll_blocks(path, options, stats)
    if format == "jsonl":
        from nerbench.adapters.data.jsonl_blocks import read_jsonl_blocks

        return read_jsonl_blocks(path, options, stats)
    raise NotStreamable(f"{format} files are read whole")
