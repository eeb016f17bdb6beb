"""Every reader round-trips through the JSONL writer without changing a span (property tests).

Each test writes random documents (non-ASCII letters, emoji, combining marks, tabs and line
breaks) in one format by hand, reads them with nerbench, writes JSONL with
``write_documents``, reads that back and checks both reads give the generated spans.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerbench.adapters.data import read_corpus, write_documents
from nerbench.tagging import chunks_to_tags
from nerbench.types import Document, Span

SPECIAL = [
    "é",
    "ß",
    "Ω",
    "中",
    "🙂",
    "👩‍🔬",
    "🇫🇷",
    "e\u0301",
    "\u0301",
    "\t",
    "\n",
    "\r\n",
    " ",
    "\u2028",
    "\ufeff",
    "'",
    '"',
]
CHARS = st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=("Cs",)))
TEXTS = st.lists(CHARS, min_size=1, max_size=30).map("".join)
LABELS = st.sampled_from(["PER", "LOC", "ORG_1", "Misc-X", "ÉTAT"])
WORDS = st.text(st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=6)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    """A text with random non-empty, non-overlapping spans."""
    text = draw(TEXTS)
    bounds = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    pairs = list(zip(bounds[::2], bounds[1::2], strict=False))
    spans = tuple(Span(a, b, draw(LABELS)) for a, b in pairs)
    return Document("", text, spans)


CORPORA = st.lists(documents(), min_size=1, max_size=4).map(
    lambda docs: [Document(f"d{i}", d.text, d.spans) for i, d in enumerate(docs)]
)
PROPERTY = settings(max_examples=60, deadline=None)


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def assert_round_trip(path: Path, fmt: str, expected: list[Document], folder: Path) -> None:
    """Read ``path`` as ``fmt``, write JSONL, read it back: spans (and texts) never change."""
    first = read_corpus(path, format=fmt).documents
    assert [(d.text, d.spans) for d in first] == [(d.text, d.spans) for d in expected]
    out = folder / "round.jsonl"
    write_documents(first, out)
    again = read_corpus(out, format="jsonl").documents
    assert again == first
    assert [d.tokens for d in again] == [d.tokens for d in first]


def json_lines(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8")
    return path


@PROPERTY
@given(CORPORA)
def test_jsonl_round_trips(docs: list[Document]) -> None:
    with folder() as tmp:
        lines = [
            {
                "id": d.id,
                "text": d.text,
                "spans": [{"start": s.start, "end": s.end, "label": s.label, "text": d.span_text(s)} for s in d.spans],
            }
            for d in docs
        ]
        assert_round_trip(json_lines(tmp / "gold.jsonl", lines), "jsonl", docs, tmp)


@PROPERTY
@given(CORPORA, st.booleans())
def test_doccano_round_trips(docs: list[Document], entity_objects: bool) -> None:
    def line(d: Document) -> dict[str, Any]:
        if entity_objects:
            entities = [
                {"id": n, "label": s.label, "start_offset": s.start, "end_offset": s.end} for n, s in enumerate(d.spans)
            ]
            return {"id": d.id, "text": d.text, "entities": entities, "relations": []}
        return {"id": d.id, "text": d.text, "label": [[s.start, s.end, s.label] for s in d.spans]}

    with folder() as tmp:
        assert_round_trip(json_lines(tmp / "doccano.jsonl", [line(d) for d in docs]), "doccano", docs, tmp)


@PROPERTY
@given(CORPORA)
def test_labelstudio_round_trips(docs: list[Document]) -> None:
    def task(d: Document) -> dict[str, Any]:
        results = [
            {
                "type": "labels",
                "from_name": "label",
                "to_name": "text",
                "value": {"start": s.start, "end": s.end, "text": d.span_text(s), "labels": [s.label]},
            }
            for s in d.spans
        ]
        return {"id": d.id, "data": {"text": d.text}, "annotations": [{"result": results, "was_cancelled": False}]}

    with folder() as tmp:
        path = tmp / "export.json"
        path.write_text(json.dumps([task(d) for d in docs], ensure_ascii=False, indent=1), encoding="utf-8")
        assert_round_trip(path, "labelstudio", docs, tmp)


@PROPERTY
@given(CORPORA)
def test_brat_round_trips(docs: list[Document]) -> None:
    as_space = str.maketrans({"\n": " ", "\r": " ", "\t": " "})
    with folder() as tmp:
        corpus = tmp / "brat"
        corpus.mkdir()
        for d in docs:
            (corpus / f"{d.id}.txt").write_bytes(d.text.encode("utf-8"))
            ann = [
                f"T{n}\t{s.label} {s.start} {s.end}\t{d.span_text(s).translate(as_space)}\n"
                for n, s in enumerate(d.spans, 1)
            ]
            (corpus / f"{d.id}.ann").write_bytes("".join(ann).encode("utf-8"))
        assert_round_trip(corpus, "brat", docs, tmp)


@st.composite
def token_corpora(draw: st.DrawFn) -> list[tuple[list[str], list[bool], list[tuple[int, int, str]]]]:
    """Sentences as (words, trailing-space flags, token chunks)."""
    sentences = []
    for _ in range(draw(st.integers(1, 3))):
        words = draw(st.lists(WORDS, min_size=1, max_size=8))
        spaces = draw(st.lists(st.booleans(), min_size=len(words), max_size=len(words)))
        bounds = sorted(draw(st.sets(st.integers(0, len(words)), max_size=6)))
        chunks = [(a, b, draw(LABELS)) for a, b in zip(bounds[::2], bounds[1::2], strict=False)]
        sentences.append((words, spaces, chunks))
    return sentences


def chunk_spans(offsets: list[tuple[int, int]], chunks: list[tuple[int, int, str]]) -> tuple[Span, ...]:
    return tuple(Span(offsets[a][0], offsets[b - 1][1], label) for a, b, label in chunks)


@settings(max_examples=30, deadline=None)
@given(token_corpora())
def test_spacy_docbin_round_trips(sentences: list[Any]) -> None:
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc, DocBin
    from spacy.tokens import Span as SpacySpan

    vocab = spacy.blank("en").vocab
    docbin, expected = DocBin(), []
    for words, spaces, chunks in sentences:
        doc = Doc(vocab, words=words, spaces=spaces)
        doc.ents = [SpacySpan(doc, a, b, label=label) for a, b, label in chunks]
        docbin.add(doc)
        offsets = [(t.idx, t.idx + len(t)) for t in doc]
        expected.append(Document("", doc.text, chunk_spans(offsets, chunks)))
    with folder() as tmp:
        docbin.to_disk(tmp / "gold.spacy")
        assert_round_trip(tmp / "gold.spacy", "spacy", expected, tmp)


@settings(max_examples=15, deadline=None)
@given(token_corpora(), st.sampled_from(["IOB2", "IOBES", "BILOU"]))
def test_hf_datasets_round_trips(sentences: list[Any], scheme: str) -> None:
    datasets = pytest.importorskip("datasets")
    rows: dict[str, list[Any]] = {"tokens": [], "ner_tags": []}
    expected = []
    for words, _, chunks in sentences:
        tags = chunks_to_tags(chunks, len(words), scheme=scheme)
        rows["tokens"].append(words)
        rows["ner_tags"].append(tags)
        offsets, pos = [], 0
        for word in words:
            offsets.append((pos, pos + len(word)))
            pos += len(word) + 1
        expected.append(Document("", " ".join(words), chunk_spans(offsets, chunks)))
    names = sorted({t for tags in rows["ner_tags"] for t in tags} | {"O"})
    rows["ner_tags"] = [[names.index(t) for t in tags] for tags in rows["ner_tags"]]
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    with folder() as tmp:
        datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(tmp / "ds"))
        assert_round_trip(tmp / "ds", "hf", expected, tmp)


def test_round_trip_helpers_are_used_by_every_reader() -> None:
    """A new format gets a round-trip test here: the list of tests follows the registry."""
    from nerbench.adapters.data import formats

    tested = {"jsonl", "doccano", "labelstudio", "brat", "spacy", "hf"}
    assert tested <= set(formats())
    assert set(formats()) - tested <= {"conll"}  # conll has its own round trip in test_conll.py
