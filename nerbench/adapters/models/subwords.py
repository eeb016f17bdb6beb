"""From sub-word predictions back to word-level entities with code-point offsets.

Pure functions (numpy only) shared by the transformers adapter and its fine-tuning:
the windows a long token sequence is cut into, which window each token is read
from, how sub-word scores make one label per word (``first``, ``max``,
``average``, as Hugging Face's token-classification pipeline does), and how word
labels group into entities (the pipeline's rule: a ``B-`` tag or a change of
type starts an entity, ``O`` ends one).

>>> windows([0, 0, 1, 2, 2, 3], size=3, stride=1)
[(0, 3), (2, 5), (3, 6)]
>>> group_words(["B-PER", "I-PER", "O", "I-LOC"], [(0, 3), (4, 8), (9, 11), (12, 17)])
[(0, 8, 'PER'), (12, 17, 'LOC')]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

STRATEGIES = ("first", "max", "average")
Window = tuple[int, int]
_STARTS = ("B-", "S-", "U-")  # a tag that always opens a new entity
_INSIDE = ("I-", "E-", "L-")


def windows(word_ids: Sequence[int | None], size: int, stride: int) -> list[Window]:
    """Token ranges ``[start, end)`` of at most ``size`` tokens covering every token.

    Consecutive windows overlap by about ``stride`` tokens. A window ends at a word
    start when it can, so a word is seen whole; a word longer than ``size`` is cut.
    """
    n = len(word_ids)
    if size < 1:
        raise ValueError(f"window size must be at least 1, got {size}")
    stride = max(0, min(stride, size - 1))
    out: list[Window] = []
    start = 0
    while True:
        end = min(start + size, n)
        if end < n:
            cut = end
            while cut > start + 1 and word_ids[cut] is not None and word_ids[cut] == word_ids[cut - 1]:
                cut -= 1
            end = cut if cut > start + 1 else end
        out.append((start, end))
        if end >= n:
            return out
        start = _next_start(word_ids, start, end, stride)


def _next_start(word_ids: Sequence[int | None], start: int, end: int, stride: int) -> int:
    """Where the next window starts: ``stride`` tokens back from ``end``, moved back to a word start."""
    nxt = max(end - stride, start + 1)
    while nxt > start + 1 and word_ids[nxt] is not None and word_ids[nxt] == word_ids[nxt - 1]:
        nxt -= 1
    return nxt


def window_of_token(spans: Sequence[Window], n: int) -> list[int]:
    """For each of ``n`` tokens, the window that sees it with the most context on both sides."""
    best = [-1] * n
    margin = [-1] * n
    for w, (start, end) in enumerate(spans):
        for i in range(start, end):
            m = min(i - start, end - 1 - i)
            if m > margin[i]:
                best[i], margin[i] = w, m
    return best


def word_scores(probs: np.ndarray, word_ids: Sequence[int | None], n_words: int, strategy: str) -> np.ndarray:
    """One score row per word from its sub-words' rows (``probs``: tokens x labels, softmaxed).

    ``first``: the first sub-word's row; ``max``: the row of the sub-word with the
    highest single score; ``average``: the mean row. A word with no token gets zeros.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"aggregation {strategy!r}: use one of {', '.join(STRATEGIES)}")
    out = np.zeros((n_words, probs.shape[1]), dtype=np.float32)
    members: list[list[int]] = [[] for _ in range(n_words)]
    for i, w in enumerate(word_ids):
        if w is not None:
            members[w].append(i)
    for w, rows in enumerate(members):
        if not rows:
            continue
        if strategy == "first":
            out[w] = probs[rows[0]]
        elif strategy == "max":
            out[w] = probs[rows[int(np.argmax(probs[rows].max(axis=1)))]]
        else:
            out[w] = probs[rows].mean(axis=0)
    return out


def group_words(tags: Sequence[str], spans: Sequence[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Entities ``(start, end, type)`` from one tag per word; words with an empty span are skipped."""
    out: list[tuple[int, int, str]] = []
    previous = "O"
    for tag, (start, end) in zip(tags, spans, strict=True):
        if start >= end:
            continue
        kind = _kind(tag)
        if kind is None:
            previous = "O"
            continue
        continues = out and previous != "O" and _kind(previous) == kind and not tag.startswith(_STARTS)
        if continues:
            out[-1] = (out[-1][0], end, kind)
        else:
            out.append((start, end, kind))
        previous = tag
    return out


def _kind(tag: str) -> str | None:
    if tag == "O" or not tag:
        return None
    return tag[2:] if tag.startswith(_STARTS + _INSIDE) else tag


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` clamped to the text, whitespace at both edges removed (may become empty).

    The end also moves past combining marks and joiners that follow it: an uncased
    tokenizer strips accents, and its offsets would otherwise cut "e" from its "\u0301".
    """
    start, end = max(0, start), min(len(text), end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while start < end < len(text) and _attaches(text[end]):
        end += 1
    return start, end


def _attaches(ch: str) -> bool:
    """A character that belongs to the one before it (combining mark, ZWJ, variation selector)."""
    return unicodedata.category(ch).startswith("M") or ch in "\u200d\ufe0e\ufe0f"


def token_tags(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int, str]], word_ids: Sequence[int | None]
) -> list[str]:
    """BIO training tags for sub-word tokens from gold character spans.

    A token belongs to the span holding its first character; the first token of a
    span is ``B-``, the rest ``I-``. Special tokens (no word) get ``""`` (ignored).
    """
    ordered = sorted(spans)
    tags: list[str] = []
    current: tuple[int, int, str] | None = None
    k = 0
    for (start, end), w in zip(offsets, word_ids, strict=True):
        if w is None or start >= end:
            tags.append("" if w is None else "O")
            continue
        while k < len(ordered) and ordered[k][1] <= start:
            k += 1
        span = ordered[k] if k < len(ordered) and ordered[k][0] <= start else None
        if span is None:
            tags.append("O")
        else:
            tags.append(("I-" if span == current else "B-") + span[2])
        current = span
    return tags
