"""Word tokens and sentences with code-point offsets, for adapters that bring no tokenizer.

A token is a ``(start, end)`` pair into the text, never containing whitespace at
its edges, so a span built from token offsets is always a clean surface.

>>> text = "Dr. Ana Lima\\tflew to São Paulo 🙂. Then home."
>>> [text[s:e] for s, e in word_spans(text)][:6]
['Dr', '.', 'Ana', 'Lima', 'flew', 'to']
>>> [[text[s:e] for s, e in word_spans(text)[a:b]][0] for a, b in sentences(text, word_spans(text))]
['Dr', 'Then']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from nerbench.errors import InputError
from nerbench.types import TextInput

Token = tuple[int, int]

_WORD_CHAR = r"[\w\u0300-\u036f]"  # word characters plus combining diacritics (decomposed accents)
# A word (inner hyphens, apostrophes and dots kept: "New-York", "don't", "3.5", "U.S"), or one other symbol.
_TOKEN = re.compile(rf"{_WORD_CHAR}+(?:[-'’.]{_WORD_CHAR}+)*|[^\w\s]")
_SENTENCE_END = frozenset({".", "!", "?", "…"})
# Words after which a full stop is not a sentence end (lower-cased).
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "ltd", "co", "corp", "vs", "etc", "no", "mt", "gen"}
)


def word_spans(text: str) -> list[Token]:
    """Words and single symbols of ``text`` as code-point offsets (whitespace is never a token)."""
    return [m.span() for m in _TOKEN.finditer(text)]


def clean_tokens(text: str, tokens: Sequence[Token]) -> list[Token]:
    """Given tokens with whitespace trimmed from their edges and empty ones dropped.

    Raises ValueError when a token lies outside the text or overlaps the one before it.
    """
    cleaned: list[Token] = []
    previous_end = 0
    for i, (start, end) in enumerate(tokens):
        if not 0 <= start <= end <= len(text) or start < previous_end:
            raise ValueError(f"token {i} ({start}, {end}) is out of order or outside the text ({len(text)} characters)")
        previous_end = end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            cleaned.append((start, end))
    return cleaned


def split_at(tokens: Sequence[Token], boundaries: Sequence[int]) -> list[Token]:
    """Tokens cut at every boundary that falls strictly inside one (so spans align to tokens)."""
    cuts = sorted(set(boundaries))
    out: list[Token] = []
    k = 0
    for start, end in tokens:
        while k < len(cuts) and cuts[k] <= start:
            k += 1
        j = k
        while j < len(cuts) and cuts[j] < end:
            out.append((start, cuts[j]))
            start = cuts[j]
            j += 1
        out.append((start, end))
    return out


def sentences(text: str, tokens: Sequence[Token], *, keep: Sequence[Token] = ()) -> list[tuple[int, int]]:
    """Sentences as ``(first_token, end_token)`` index ranges (end exclusive).

    A sentence ends where the gap between two tokens holds a newline, or after
    ``.``, ``!``, ``?`` or ``…`` followed by whitespace and a token starting with a
    capital letter, unless the full stop ends an abbreviation ("Dr.", "U.S.", a
    single letter). No break falls inside a ``keep`` range (gold spans when training).
    """
    ranges: list[tuple[int, int]] = []
    first = 0
    for i in range(len(tokens) - 1):
        if _breaks_after(text, tokens, i) and not any(s < tokens[i + 1][0] < e for s, e in keep):
            ranges.append((first, i + 1))
            first = i + 1
    if first < len(tokens):
        ranges.append((first, len(tokens)))
    return ranges


def _breaks_after(text: str, tokens: Sequence[Token], i: int) -> bool:
    end, next_start = tokens[i][1], tokens[i + 1][0]
    gap = text[end:next_start]
    if "\n" in gap:
        return True
    if not gap or text[tokens[i][0] : end] not in _SENTENCE_END or not text[next_start].isupper():
        return False
    if text[end - 1] != "." or i == 0 or tokens[i - 1][1] != tokens[i][0]:
        return True
    before = text[tokens[i - 1][0] : tokens[i - 1][1]]
    return not ((len(before) == 1 and before.isalpha()) or "." in before or before.lower() in _ABBREVIATIONS)


def spacy_doc_from_tokens(vocab: Any, inp: TextInput) -> Any:
    """A spaCy ``Doc`` of an input's gold tokens (a space wherever the text has a gap between two).

    Entity offsets must then be mapped back through the gold token offsets, not ``Doc.text``.
    """
    from spacy.tokens import Doc

    tokens = inp.tokens or ()
    for i, (start, end) in enumerate(tokens):
        if not 0 <= start < end <= len(inp.text) or (i and start < tokens[i - 1][1]):
            raise InputError(f"input {inp.id!r}: gold token {i} ({start}, {end}) is empty, out of order or range")
    words = [inp.text[s:e] for s, e in tokens]
    spaces = [tokens[i + 1][0] > end for i, (_, end) in enumerate(tokens[:-1])] + [False] * bool(tokens)
    return Doc(vocab, words=words, spaces=spaces)


def input_tokens(inp: TextInput) -> list[Token]:
    """An input's tokens: the gold tokens when the suite gives them (checked), else our word tokens."""
    if inp.tokens is None:
        return word_spans(inp.text)
    try:
        return clean_tokens(inp.text, inp.tokens)
    except ValueError as err:
        raise InputError(f"input {inp.id!r}: {err}") from None
