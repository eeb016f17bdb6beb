"""A dataset's documents on disk: a read-only sequence whose memory does not grow with the corpus.

The runner reads each dataset once and then walks it several times (the prediction pass, scoring, the run
directory) and picks a few documents by position (latency samples). A million short documents as Python
objects take about 0.85 GB; here they are pickled in blocks to an unnamed temporary file (gone when the
sequence is, or when the process ends, even when killed) and only the blocks' offsets stay in memory.
Corpora up to ``KEEP_IN_MEMORY`` documents stay an ordinary tuple.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, overload

from nerbench.types import Document

KEEP_IN_MEMORY = 50_000  # documents: a corpus up to this size is kept as a tuple
BLOCK = 1024  # documents per pickled block


class SpilledDocuments(Sequence[Document]):
    """Documents pickled in blocks of ``BLOCK`` to a temporary file; reads are ``pread``s, safe from threads."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="nerbench-docs-")  # noqa: SIM115 (lives as long as self)
        self._ends = array("q", [0])  # block i is bytes [_ends[i], _ends[i + 1])
        self._count = 0
        self._cached: tuple[int, list[Document]] | None = None  # the last block read by position

    def extend(self, documents: Sequence[Document]) -> None:
        """Append documents (while building; the last block may be partial only at the end)."""
        if self._count % BLOCK:
            raise ValueError("documents are appended in whole blocks until the last")
        for first in range(0, len(documents), BLOCK):
            data = pickle.dumps(list(documents[first : first + BLOCK]), protocol=pickle.HIGHEST_PROTOCOL)
            os.pwrite(self._file.fileno(), data, self._ends[-1])
            self._ends.append(self._ends[-1] + len(data))
            self._count += min(BLOCK, len(documents) - first)

    def _block(self, i: int) -> list[Document]:
        cached = self._cached
        if cached is not None and cached[0] == i:
            return cached[1]
        start, end = self._ends[i], self._ends[i + 1]
        block: list[Document] = pickle.loads(os.pread(self._file.fileno(), end - start, start))
        self._cached = (i, block)
        return block

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Document: ...
    @overload
    def __getitem__(self, index: slice) -> list[Document]: ...
    def __getitem__(self, index: int | slice) -> Document | list[Document]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            out: list[Document] = []
            if stop <= start:
                return out
            for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
                block = self._block(b)
                out.extend(block[max(start - b * BLOCK, 0) : stop - b * BLOCK])
            return out
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("document index out of range")
        return self._block(index // BLOCK)[index % BLOCK]

    def __iter__(self) -> Iterator[Document]:
        for b in range(len(self._ends) - 1):
            start, end = self._ends[b], self._ends[b + 1]
            yield from pickle.loads(os.pread(self._file.fileno(), end - start, start))

    def close(self) -> None:
        self._file.close()


def collect(blocks: Iterable[Sequence[Document]], limit: int | None = None) -> Sequence[Document]:
    """The documents of ``blocks`` (the first ``limit``): a tuple up to ``KEEP_IN_MEMORY``, else on disk.

    Every block is read, past ``limit`` too: a reader that finds a mistake late raises it, as a whole read would.
    """
    kept: list[Document] = []
    spilled: SpilledDocuments | None = None
    total = 0
    for block in blocks:
        if limit is not None and total + len(block) > limit:
            block = block[: max(0, limit - total)]
        kept.extend(block)
        total += len(block)
        if spilled is None and total > KEEP_IN_MEMORY:
            spilled = SpilledDocuments()
        if spilled is not None and len(kept) >= BLOCK:
            whole = len(kept) - len(kept) % BLOCK
            spilled.extend(kept[:whole])
            del kept[:whole]
    if spilled is None:
        return tuple(kept)
    spilled.extend(kept)
    return spilled
