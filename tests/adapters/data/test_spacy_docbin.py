"""The spaCy DocBin reader against real spaCy: entities, span groups, tokens, ids, bad input."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from nerbench.adapters.data.base import DataFormat, ReadOptions
from nerbench.adapters.data.spacy_docbin import FORMAT
from nerbench.errors import InputError, MissingExtraError
from nerbench.types import Span

spacy = pytest.importorskip("spacy")
from spacy.tokens import DocBin  # noqa: E402


def docbin(path: Path, *docs: Any, user_data: bool = False) -> Path:
    DocBin(docs=docs, store_user_data=user_data).to_disk(path)
    return path


def test_format_implements_the_protocol() -> None:
    assert isinstance(FORMAT, DataFormat)
    assert FORMAT.name == "spacy"


def test_reads_entities_text_and_tokens(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    doc = nlp("Zoë visited  São Paulo 🌴 today.")
    doc.ents = [doc.char_span(0, 3, "PER"), doc.char_span(13, 22, "LOC")]
    corpus = FORMAT.read(docbin(tmp_path / "train.spacy", doc, nlp("No entities.")), ReadOptions())
    first, second = corpus.documents
    assert first.id == "train-1" and second.id == "train-2"
    assert first.text == "Zoë visited  São Paulo 🌴 today."
    assert first.spans == (Span(0, 3, "PER"), Span(13, 22, "LOC"))
    assert first.span_text(first.spans[1]) == "São Paulo"
    assert first.token_texts() == [
        "Zoë",
        "visited",
        "São",
        "Paulo",
        "🌴",
        "today",
        ".",
    ]  # the extra space token is left out
    assert second.spans == ()


def test_reads_a_span_group_with_overlaps_when_allowed(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    doc = nlp("University of Paris")
    doc.spans["sc"] = [doc.char_span(0, 19, "ORG"), doc.char_span(14, 19, "LOC")]
    path = docbin(tmp_path / "nested.spacy", doc)
    spans = FORMAT.read(path, ReadOptions(overlaps="allow", extra={"spans_key": "sc"})).documents[0].spans
    assert spans == (Span(0, 19, "ORG"), Span(14, 19, "LOC"))
    with pytest.raises(InputError, match="overlap"):
        FORMAT.read(path, ReadOptions(extra={"spans_key": "sc"}))
    with pytest.raises(InputError, match="no span group 'missing'"):
        FORMAT.read(path, ReadOptions(extra={"spans_key": "missing"}))


def test_ids_come_from_user_data_and_directories_are_read_file_by_file(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    doc = nlp("Oslo")
    doc.user_data["id"] = "doc-42"
    docbin(tmp_path / "a.spacy", doc, user_data=True)
    docbin(tmp_path / "b.spacy", nlp("Bergen"))
    assert [d.id for d in FORMAT.read(tmp_path, ReadOptions()).documents] == ["doc-42", "b-1"]
    assert FORMAT.sniff(tmp_path, "")


def test_a_corrupt_or_missing_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.spacy"
    bad.write_bytes(b"not a docbin at all")
    with pytest.raises(InputError, match="not a spaCy DocBin") as info:
        FORMAT.read(bad, ReadOptions())
    assert info.value.path == str(bad)
    with pytest.raises(InputError, match="no such file"):
        FORMAT.read(tmp_path / "missing.spacy", ReadOptions())


def test_missing_spacy_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_spacy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("spacy"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_spacy)
    with pytest.raises(MissingExtraError, match=r"nerbench\[spacy\]"):
        FORMAT.read(tmp_path / "x.spacy", ReadOptions())
