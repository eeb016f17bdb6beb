"""Per-document count rows in bounded memory: whole while few, then as distinct rows with their multiplicity.

A document-level bootstrap only needs how many documents share each count row (see
:func:`nerbench.scoring.resample_sums`), and a streamed score of millions of documents has few distinct
rows: keeping those instead of one row per document is what keeps its memory flat. Up to ``keep`` documents
the rows are kept whole, in document order, so a small corpus gets exactly the draws the in-memory scorer
gives it; beyond, rows are counted as distinct rows once there are few enough of them for the bootstrap to
draw by groups (where the draws are those of the whole table).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

KEEP_WHOLE = 200_000


def narrow(block: np.ndarray) -> np.ndarray:
    """Non-negative counts in the narrowest unsigned type that holds them (a whole table of a million
    documents' bucket rows is then tens of megabytes, not hundreds)."""
    top = int(block.max()) if block.size else 0
    if block.size and int(block.min()) < 0:
        return block.astype(np.int64)
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return block.astype(dtype, copy=False)
    return block.astype(np.int64)


class NotGrouped(Exception):
    """Rows kept as distinct rows turned out nearly all distinct: only the whole table gives the exact draws."""


def grouped(distinct: int, documents: int) -> bool:
    """Whether the bootstrap draws by groups of equal rows (:func:`nerbench.scoring.resample_sums`' test)."""
    return distinct * 4 < documents


class DocRows:
    """Rows of 3 counts (correct, predicted, gold) per column key, one row per document, added a block at a
    time; keys may appear in later blocks (earlier documents count 0 there)."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = KEEP_WHOLE if keep is None else keep
        self.keys: list[Hashable] = []
        self.index: dict[Hashable, int] = {}
        self.documents = 0
        self._blocks: list[np.ndarray] | None = []
        self._distinct: dict[tuple[int, ...], int] = {}
        self._next_check = self.keep

    def column(self, key: Hashable) -> int:
        """The first of ``key``'s three columns (a new key gets the next three)."""
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.keys)
            self.keys.append(key)
        return 3 * found

    def add(self, block: np.ndarray) -> None:
        """A block of documents' rows: shape (documents, 3 * keys known when it was made)."""
        block = narrow(np.asarray(block))
        self.documents += len(block)
        if self._blocks is None:
            self._count(block, self._distinct)
            return
        self._blocks.append(block)
        if self.documents > self._next_check:
            distinct: dict[tuple[int, ...], int] = {}
            for kept in self._blocks:
                self._count(kept, distinct)
            if grouped(len(distinct), self.documents):
                self._blocks, self._distinct = None, distinct
            else:  # nearly every row distinct: whole rows keep the draws exact; look again at twice as many
                self._next_check = 2 * self.documents

    @staticmethod
    def _count(block: np.ndarray, distinct: dict[tuple[int, ...], int]) -> None:
        if not len(block):
            return
        rows, counts = np.unique(block, axis=0, return_counts=True)
        for row, n in zip(map(tuple, rows.tolist()), counts.tolist(), strict=True):
            while row and not row[-1]:  # a row is the same whatever columns were added after it
                row = row[:-1]
            distinct[row] = distinct.get(row, 0) + n

    def table(self, order: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray | None]:
        """(rows, counts): the rows with the keys' columns in ``order``; counts is None where every document
        has its own row (in document order), else how many documents share each distinct row."""
        width = 3 * len(self.keys)
        picks = [3 * self.index[key] + i for key in order for i in range(3)]
        if self._blocks is not None:
            dtype = np.result_type(np.uint8, *(block.dtype for block in self._blocks))
            whole = np.zeros((self.documents, len(picks)), dtype=dtype)  # counts are small: kept narrow
            at = 0
            for block in self._blocks:
                present = [j for j, column in enumerate(picks) if column < block.shape[1]]
                if present:
                    whole[at : at + len(block), present] = block[:, [picks[j] for j in present]]
                at += len(block)
            return whole, None
        if not grouped(len(self._distinct), self.documents):
            raise NotGrouped(f"{len(self._distinct)} distinct rows in {self.documents} documents")
        rows = np.zeros((len(self._distinct), width), dtype=np.int64)
        for i, row in enumerate(self._distinct):
            rows[i, : len(row)] = row
        return rows[:, picks], np.fromiter(self._distinct.values(), dtype=np.int64, count=len(self._distinct))
