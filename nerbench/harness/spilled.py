"""A dataset's documents on disk: a read-only sequence whose memory does not grow with the corpus.

The runner reads each dataset once and then walks it several times (the prediction pass, scoring, the run
directory) and picks a few documents by position (latency samples). A million short documents as Python
objects take about 0.85 GB; here they are written in blocks to an unnamed temporary file (gone when the
sequence is, or when the process ends, even when killed) and only the blocks' offsets stay in memory.
Corpora up to ``KEEP_IN_MEMORY`` documents stay an ordinary tuple.

A block is the documents as plain tuples in ``marshal`` form (or ``pickle`` where a document's ``meta``
holds something marshal cannot write), rebuilt with the garbage collector paused: a pass over a million
documents then takes about 3 s, a third of unpickling the dataclasses.
"""

from __future__ import annotations

import marshal
import os
import pickle
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, overload

from nerbench.errors import InputError
from nerbench.gc_paused import gc_paused
from nerbench.types import Document, Span

KEEP_IN_MEMORY = 50_000  # documents: a corpus up to this size is kept as a tuple
BLOCK = 1024  # documents per pickled block


class SpilledDocuments(Sequence[Document]):
    """Documents written in blocks of ``BLOCK`` to a temporary file; reads are ``pread``s, safe from threads."""

    def __init__(self) -> None:
        try:
            self._file: IO[bytes] = tempfile.TemporaryFile(prefix="nerbench-docs-")  # noqa: SIM115 (lives as long as self)
        except OSError as err:
            raise _no_room(err) from None
        self._ends = array("q", [0])  # block i is bytes [_ends[i], _ends[i + 1])
        self._count = 0
        self._cached: tuple[int, list[Document]] | None = None  # the last block read by position

    def extend(self, documents: Sequence[Document]) -> None:
        """Append documents (while building; the last block may be partial only at the end)."""
        if self._count % BLOCK:
            raise ValueError("documents are appended in whole blocks until the last")
        for first in range(0, len(documents), BLOCK):
            data = memoryview(_encode(documents[first : first + BLOCK]))
            at = self._ends[-1]
            try:
                while data:  # a write may be short (a nearly full disk)
                    done = os.pwrite(self._file.fileno(), data, at)
                    data, at = data[done:], at + done
            except OSError as err:
                raise _no_room(err) from None
            self._ends.append(at)
            self._count += min(BLOCK, len(documents) - first)

    def _read(self, i: int) -> list[Document]:
        start, end = self._ends[i], self._ends[i + 1]
        return _decode(os.pread(self._file.fileno(), end - start, start))

    def _block(self, i: int) -> list[Document]:
        cached = self._cached
        if cached is not None and cached[0] == i:
            return cached[1]
        block = self._read(i)
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
            yield from self._read(b)

    def close(self) -> None:
        self._file.close()


def _no_room(err: OSError) -> InputError:
    return InputError(
        f"cannot keep the dataset's documents in the temporary directory {tempfile.gettempdir()} "
        f"({err.strerror or err}): free space there, or point TMPDIR at a disk with room"
    )


def _encode(documents: Sequence[Document]) -> bytes:
    rows = [
        (d.id, d.text, tuple((s.start, s.end, s.label, s.surface) for s in d.spans), d.tokens, dict(d.meta))
        for d in documents
    ]
    try:
        return b"m" + marshal.dumps(rows)
    except ValueError:  # a meta value marshal cannot write
        return b"p" + pickle.dumps(list(documents), protocol=pickle.HIGHEST_PROTOCOL)


def _decode(data: bytes) -> list[Document]:
    with gc_paused():
        if data[:1] == b"p":
            return list(pickle.loads(data[1:]))
        return [
            Document(i, text, tuple(Span(*s) for s in spans), tokens, meta)
            for i, text, spans, tokens, meta in marshal.loads(data[1:])
        ]


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
