"""Where a model fails: strict F1 broken down by attributes of spans and documents (ExplainaBoard's buckets).

Computed once, from the scorer's own matching decisions (pure; no re-matching):

- **span attributes**, each span's own: length in words (1, 2, 3, 4+), length in characters (equal-frequency
  buckets of the gold lengths), capitalisation (all caps, title case, lower case, mixed / other), label,
  seen vs unseen (its surface form occurs with the same label as an entity of a train split; only when
  there is one), position (first sentence of the document, or the rest). A bucket's recall counts the gold
  spans with the attribute; its precision counts the valid, in-schema predictions with the attribute,
  computed on the prediction's own text, so a spurious prediction lands in the bucket it claims;
- **document attributes**: length in words and entity density (equal-frequency buckets that never split
  ties), and whether the text is all caps (a headline). A document bucket is the strict F1 of its documents.

Every bucket keeps integer counts per document (correct, predicted, gold): its F1 and a percentile bootstrap
CI over documents are derived from them, all buckets in one matrix product per batch of resamples. A bucket
with fewer than ``min_support`` gold spans is marked ``thin``, never hidden.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import accumulate, pairwise

import numpy as np

from nerbench.doc_rows import DocRows
from nerbench.matching import GOLD_SIDE, PRED_SIDE, MatchClass
from nerbench.scoring import CountRatios, Score, resample_sums
from nerbench.types import Document, Span

MIN_SUPPORT = 10
WORDS = ("1", "2", "3", "4+")
CAPS = ("all caps", "title case", "lower case", "mixed / other")
# attribute key -> (shown name, span or document attribute)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "span_words": ("entity length (words)", "span"),
    "span_chars": ("entity length (characters)", "span"),
    "capitalisation": ("capitalisation", "span"),
    "label": ("label", "span"),
    "seen": ("seen in training", "span"),
    "position": ("position", "span"),
    "doc_words": ("document length (words)", "document"),
    "density": ("entities per 100 words", "document"),
    "doc_caps": ("document in all caps", "document"),
}
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")


@dataclass(frozen=True)
class Bucket(CountRatios):
    """One attribute value: its counts, F1 and CI, and whether its support is too thin for a verdict."""

    attribute: str  # a key of ATTRIBUTES
    value: str
    correct: int
    predicted: int
    gold: int
    documents: int  # documents holding a gold span or prediction of the bucket (span) or in it (document)
    f1_ci: tuple[float, float] | None = None
    thin: bool = False
    note: str = ""  # e.g. whose train split "seen" refers to

    def to_json(self) -> dict[str, object]:
        """Its counts, CI and marks, with the derived precision, recall and F1."""
        return {
            **asdict(self), "f1_ci": list(self.f1_ci) if self.f1_ci else None,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
        }  # fmt: skip


def capitalisation(text: str) -> str:
    """``all caps``, ``title case``, ``lower case`` or ``mixed / other`` (no letters: other)."""
    if not any(ch.isalpha() for ch in text):
        return CAPS[3]
    if text.isupper():
        return CAPS[0]
    if text.islower():
        return CAPS[2]
    words = [w for w in text.split() if any(ch.isalpha() for ch in w)]
    if words and all(next(ch for ch in w if ch.isalpha()).isupper() for w in words):
        return CAPS[1]
    return CAPS[3]


def word_bucket(text: str) -> str:
    n = len(text.split())
    return WORDS[min(max(n, 1), 4) - 1]


def equal_frequency(values: Iterable[int] | Mapping[int, int], k: int) -> list[int]:
    """Upper bounds of at most ``k`` buckets holding about equal shares of ``values``, never splitting ties:
    a bucket is ``(previous bound, bound]`` and the last is open above. ``values`` may be given as counts
    (value -> how many), which is how a streamed corpus keeps them."""
    tally = values if isinstance(values, Mapping) else Counter(values)
    distinct = sorted(v for v, c in tally.items() if c > 0)
    if not distinct:
        return []
    ends = list(accumulate(tally[v] for v in distinct))  # rank just past each distinct value, sorted
    total = ends[-1]
    bounds: list[int] = []
    for q in range(1, k):
        rank = max(0, round(q * total / k) - 1)
        cut = distinct[bisect_right(ends, rank)]
        if (not bounds or cut > bounds[-1]) and cut < distinct[-1]:
            bounds.append(cut)
    return bounds


def range_names(bounds: Sequence[int]) -> list[str]:
    """``[3, 7]`` -> ``['≤3', '4–7', '≥8']`` (integer values)."""
    if not bounds:
        return ["all"]
    names = [f"≤{bounds[0]}"]
    names += [f"{lo + 1}–{hi}" if hi > lo + 1 else str(hi) for lo, hi in pairwise(bounds)]
    return [*names, f"≥{bounds[-1] + 1}"]


def in_range(value: int, bounds: Sequence[int], names: Sequence[str]) -> str:
    return names[next((i for i, b in enumerate(bounds) if value <= b), len(bounds))]


def first_sentence_end(text: str) -> int:
    found = _SENTENCE_END.search(text)
    return found.end() if found else len(text)


def bucket_ci(
    tables: np.ndarray, resamples: int, seed: int, confidence: float = 0.95, *, counts: np.ndarray | None = None
) -> list[tuple[float, float] | None]:
    """Percentile bootstrap CIs of F1 for every bucket at once: ``tables`` is (documents, buckets, 3).

    Every bucket sees the same resamples (:func:`nerbench.scoring.resample_sums`); ``counts``: the rows are
    distinct, each standing for that many documents.
    """
    n, k = tables.shape[0], tables.shape[1]
    if resamples <= 0 or n == 0 or k == 0:
        return [None] * k
    f1s: list[np.ndarray] = []
    for flat in resample_sums(tables.reshape(n, 3 * k), resamples, seed, counts=counts):
        sums = flat.reshape(-1, k, 3)
        den = sums[:, :, 1] + sums[:, :, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            f1s.append(np.where(den > 0, 2 * sums[:, :, 0] / np.maximum(den, 1), np.nan))
    stacked = np.concatenate(f1s)
    tail = (1 - confidence) / 2 * 100
    out: list[tuple[float, float] | None] = []
    for j in range(k):
        column = stacked[:, j]
        if np.all(np.isnan(column)):
            out.append(None)
            continue
        lo, hi = np.nanpercentile(column, [tail, 100 - tail])
        out.append((float(lo), float(hi)))
    return out


SpanAttributes = Callable[[str, str, bool], tuple[tuple[str, str], ...]]


def span_attributes(
    char_bounds: Sequence[int],
    char_names: Sequence[str],
    train: frozenset[tuple[str, str]] | None,
    only: Collection[str] | None = None,
) -> SpanAttributes:
    """The (attribute, bucket) keys of a span, from its own text, its label and whether it starts in the first
    sentence; memoised, since surfaces repeat."""

    @lru_cache(maxsize=1 << 16)
    def attributes(text: str, label: str, first_sentence: bool) -> tuple[tuple[str, str], ...]:
        values = {
            "span_words": word_bucket,
            "span_chars": lambda t: in_range(len(t), char_bounds, char_names),
            "capitalisation": capitalisation,
            "label": lambda _: label,
            "position": lambda _: "first sentence" if first_sentence else "rest of the document",
        }
        if train is not None:
            values["seen"] = lambda t: "seen" if (t, label) in train else "unseen"
        return tuple((name, value(text)) for name, value in values.items() if only is None or name in only)

    return attributes


@dataclass(frozen=True)
class Bounds:
    """The equal-frequency bounds of a corpus's length buckets, from its gold alone (fixed before scoring)."""

    span_chars: tuple[int, ...] = ()
    doc_words: tuple[int, ...] = ()
    density: tuple[int, ...] = ()


class BoundsCounter:
    """Counts the lengths :class:`Bounds` are cut from, one document at a time (a streamed corpus)."""

    def __init__(self) -> None:
        self.span_chars: Counter[int] = Counter()
        self.doc_words: Counter[int] = Counter()
        self.density: Counter[int] = Counter()

    def add(self, doc: Document, words: int | None = None) -> None:
        """One gold document (``words``: its word count, when the caller has it)."""
        n = len(doc.text.split()) if words is None else words
        self.span_chars.update(s.end - s.start for s in doc.spans)
        self.doc_words[n] += 1
        self.density[round(100 * len(doc.spans) / n) if n else 0] += 1

    def bounds(self) -> Bounds:
        return Bounds(
            tuple(equal_frequency(self.span_chars, 4)), tuple(equal_frequency(self.doc_words, 4)),
            tuple(equal_frequency(self.density, 3)),
        )  # fmt: skip


def bounds_of(documents: Iterable[Document]) -> Bounds:
    counter = BoundsCounter()
    for doc in documents:
        counter.add(doc)
    return counter.bounds()


class BucketTable:
    """Per-document (correct, predicted, gold) counts of every bucket, added a batch of documents at a time
    (:class:`~nerbench.doc_rows.DocRows`: bounded memory however many documents), then the buckets."""

    def __init__(
        self, bounds: Bounds, *, train: frozenset[tuple[str, str]] | None = None,
        only: Collection[str] | None = None, keep: int | None = None,
    ) -> None:  # fmt: skip
        self.bounds = bounds
        self.wanted = set(ATTRIBUTES) if only is None else set(only)
        self.char_names = range_names(bounds.span_chars)
        self.word_names, self.density_names = range_names(bounds.doc_words), range_names(bounds.density)
        self.attributes = span_attributes(bounds.span_chars, self.char_names, train, only)
        self.rows = DocRows(keep)
        self._columns = lru_cache(maxsize=1 << 16)(self._span_columns)  # surfaces repeat
        self.members: Counter[tuple[str, str]] = Counter()  # documents in each document bucket
        self._documents = [a for a in ("doc_words", "density", "doc_caps") if a in self.wanted]

    def add(self, documents: Sequence[Document], predictions: Sequence[Sequence[Span]], result: Score) -> None:
        """A batch: its gold documents, the raw spans ``result`` was scored from, and that score."""
        columns = self._columns
        gold_docs: list[int] = []  # each gold span's document, once per bucket it falls in
        gold_cols: list[int] = []  # ... and that bucket's first column
        hit_docs: list[int] = []
        hit_cols: list[int] = []
        pred_docs: list[int] = []
        pred_cols: list[int] = []
        position = "position" in self.wanted
        for i, (doc, raw, instances) in enumerate(zip(documents, predictions, result.by_document(), strict=True)):
            text = doc.text
            first_end = first_sentence_end(text) if position else 0
            for inst in instances:
                if inst.gold_index is not None and inst.cls in GOLD_SIDE:
                    g = doc.spans[inst.gold_index]
                    found = columns(text[g.start : g.end], g.label, g.start < first_end)
                    gold_cols.extend(found)
                    gold_docs.extend([i] * len(found))
                    if inst.cls is MatchClass.COR:
                        hit_cols.extend(found)
                        hit_docs.extend([i] * len(found))
                if inst.pred_index is not None and inst.cls in PRED_SIDE:
                    p = raw[inst.pred_index]
                    found = columns(text[p.start : p.end], str(inst.pred_label), p.start < first_end)
                    pred_cols.extend(found)
                    pred_docs.extend([i] * len(found))
        width = 3 * len(self.rows.keys)
        flat = np.concatenate([
            np.asarray(docs, dtype=np.int64) * width + np.asarray(cols, dtype=np.int64) + offset
            for docs, cols, offset in ((hit_docs, hit_cols, 0), (pred_docs, pred_cols, 1), (gold_docs, gold_cols, 2))
        ])  # fmt: skip
        size = len(documents) * width
        block = np.bincount(flat, minlength=size).astype(np.int32).reshape(len(documents), width)
        if self._documents:
            block = self._add_documents(documents, result, block)
        self.rows.add(block)

    def _span_columns(self, text: str, label: str, first_sentence: bool) -> tuple[int, ...]:
        """The first column of each bucket a span falls in."""
        return tuple(self.rows.column(key) for key in self.attributes(text, label, first_sentence))

    def _add_documents(self, documents: Sequence[Document], result: Score, block: np.ndarray) -> np.ndarray:
        """Each document's strict counts into the bucket of each document attribute (a block widened for
        buckets first seen here)."""
        n = len(documents)
        words = np.fromiter((len(d.text.split()) for d in documents), dtype=np.int64, count=n)
        spans = np.fromiter((len(d.spans) for d in documents), dtype=np.int64, count=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            density = np.where(words > 0, np.round(100 * spans / np.maximum(words, 1)), 0).astype(np.int64)
        caps = np.fromiter(
            (d.text.isupper() and any(ch.isalpha() for ch in d.text) for d in documents), dtype=bool, count=n
        )
        bounds = self.bounds
        which = {  # attribute -> (each document's bucket index, the bucket names)
            "doc_words": (np.searchsorted(bounds.doc_words, words, side="left"), self.word_names),
            "density": (np.searchsorted(bounds.density, density, side="left"), self.density_names),
            "doc_caps": (caps.astype(np.int64), ["not all caps", "all caps"]),
        }
        per_doc = np.asarray(result.per_doc, dtype=np.int64).reshape(-1, 3) if len(result.per_doc) else None
        for attribute in self._documents:
            index, names = which[attribute]
            for j in np.unique(index).tolist():
                key = (attribute, names[j])
                at = self.rows.column(key)
                if block.shape[1] < 3 * len(self.rows.keys):
                    block = np.pad(block, ((0, 0), (0, 3 * len(self.rows.keys) - block.shape[1])))
                members = index == j
                self.members[key] += int(members.sum())
                if per_doc is not None:
                    block[members, at : at + 3] += per_doc[members].astype(block.dtype)
        return block

    def buckets(
        self, *, min_support: int = MIN_SUPPORT, resamples: int = 1000, seed: int = 0, train_split: str = ""
    ) -> tuple[Bucket, ...]:
        """Every bucket's counts, CI and marks, in display order."""
        keys: list[tuple[str, str]] = sorted(self.rows.keys, key=_sort_key)  # type: ignore[arg-type]
        if not keys:
            return ()
        rows, counts = self.rows.table(keys)
        stacked = rows.reshape(len(rows), len(keys), 3)
        # The label buckets are per-label scores: their CIs come from the label columns alone, so a label's
        # CI is the same whichever other attributes were asked for (score with and without --buckets, a run).
        labels = [j for j, key in enumerate(keys) if key[0] == "label"]
        others = [j for j, key in enumerate(keys) if key[0] != "label"]
        cis: list[tuple[float, float] | None] = [None] * len(keys)
        for part in (labels, others):
            if part:
                for j, ci in zip(part, bucket_ci(stacked[:, part, :], resamples, seed, counts=counts), strict=True):
                    cis[j] = ci
        weights = np.ones(len(rows), dtype=np.int64) if counts is None else counts
        out = []
        for j, (attribute, value) in enumerate(keys):
            column = stacked[:, j, :]
            correct, predicted, gold = (int(x) for x in weights @ column.astype(np.int64))
            if ATTRIBUTES[attribute][1] == "document":
                documents = self.members[(attribute, value)]
            else:
                documents = int(weights[column[:, 1:].any(axis=1)].sum())
            note = f"train split of {train_split}" if attribute == "seen" and train_split else ""
            out.append(Bucket(attribute, value, correct, predicted, gold, documents, cis[j], gold < min_support, note))
        return tuple(out)


def compute_buckets(
    documents: Sequence[Document],
    predictions: Sequence[Sequence[Span]],
    result: Score,
    *,
    train: frozenset[tuple[str, str]] | None = None,
    train_split: str = "",
    min_support: int = MIN_SUPPORT,
    resamples: int = 1000,
    seed: int = 0,
    only: Collection[str] | None = None,
) -> tuple[Bucket, ...]:
    """Every bucket of one prediction set, from the score's instance records (``predictions``: the raw spans
    the score was computed from, so instance indices point into them). ``train``: (surface, label) of the
    train split's entities, for the seen / unseen buckets; None leaves them out. ``only``: these attributes
    (e.g. ``{"label"}`` for per-label CIs alone)."""
    table = BucketTable(bounds_of(documents), train=train, only=only)
    table.add(documents, predictions, result)
    return table.buckets(min_support=min_support, resamples=resamples, seed=seed, train_split=train_split)


_ORDER = {"span_words": list(WORDS), "capitalisation": list(CAPS), "seen": ["seen", "unseen"],
          "position": ["first sentence", "rest of the document"], "doc_caps": ["not all caps", "all caps"]}  # fmt: skip


def _sort_key(key: tuple[str, str]) -> tuple[int, int, str]:
    attribute, value = key
    order = _ORDER.get(attribute, [])
    rank = order.index(value) if value in order else len(order)
    if value.startswith("≤"):
        rank = -1
    elif value[:1].isdigit() and attribute not in _ORDER:
        rank = int(re.match(r"\d+", value).group())  # type: ignore[union-attr]
    elif value.startswith("≥"):
        rank = 1 << 30
    return list(ATTRIBUTES).index(attribute), rank, value
