"""The Hugging Face datasets reader against real ``datasets``: save_to_disk, parquet, splits, tags."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from nerbench.adapters.data.base import DataFormat, ReadOptions
from nerbench.adapters.data.hf_datasets import FORMAT
from nerbench.errors import InputError, MissingExtraError
from nerbench.types import Span

datasets = pytest.importorskip("datasets")

NAMES = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
ROWS = {
    "id": ["s1", "s2"],
    "tokens": [["Ångström", "lived", "in", "Uppsala", "🇸🇪"], ["Jean", "Dupont", "."]],
    "ner_tags": [[1, 0, 0, 3, 0], [1, 2, 0]],
}


def dataset(rows: dict[str, Any] = ROWS, names: list[str] = NAMES) -> Any:
    features = datasets.Features(
        {
            **({"id": datasets.Value("string")} if "id" in rows else {}),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    return datasets.Dataset.from_dict(rows, features=features)


def read(path: Path, **options: Any) -> Any:
    return FORMAT.read(path, ReadOptions(**options))


def test_format_implements_the_protocol() -> None:
    assert isinstance(FORMAT, DataFormat)
    assert FORMAT.name == "hf"


def test_reads_a_saved_dataset_through_its_class_labels(tmp_path: Path) -> None:
    dataset().save_to_disk(str(tmp_path / "ds"))
    corpus = read(tmp_path / "ds")
    first, second = corpus.documents
    assert first.id == "s1"
    assert first.text == "Ångström lived in Uppsala 🇸🇪"
    assert first.spans == (
        Span(0, len("Ångström"), "PER"),
        Span(len("Ångström lived in "), len("Ångström lived in Uppsala"), "LOC"),
    )
    assert first.token_texts() == ROWS["tokens"][0]
    assert second.spans == (Span(0, len("Jean Dupont"), "PER"),)
    assert (corpus.scheme, corpus.repairs) == ("IOB2", 0)


def test_reads_a_parquet_file_and_repairs_are_counted(tmp_path: Path) -> None:
    rows = {"tokens": [["a", "b", "c"]], "ner_tags": [[2, 2, 0]]}  # I-PER after O: one repair
    dataset(rows).to_parquet(str(tmp_path / "test.parquet"))
    corpus = read(tmp_path / "test.parquet", scheme="IOB2")
    assert corpus.documents[0].id == "1"
    assert corpus.documents[0].spans == (Span(0, 3, "PER"),)
    assert corpus.repairs == 1
    assert read(tmp_path / "test.parquet", scheme="IOB2", repair="discard").documents[0].spans == ()


def test_a_dataset_dict_reads_test_or_the_split_asked_for(tmp_path: Path) -> None:
    train = dataset({"tokens": [["Oslo"]], "ner_tags": [[3]]})
    datasets.DatasetDict({"train": train, "test": dataset()}).save_to_disk(str(tmp_path / "dd"))
    assert len(read(tmp_path / "dd").documents) == 2
    assert read(tmp_path / "dd", split="train").documents[0].spans == (Span(0, 4, "LOC"),)
    with pytest.raises(InputError, match="no split 'dev': choose one of train, test"):
        read(tmp_path / "dd", split="dev")
    datasets.DatasetDict({"train": train, "validation": train}).save_to_disk(str(tmp_path / "dd2"))
    with pytest.raises(InputError, match="none is 'test'"):
        read(tmp_path / "dd2")


def test_string_tags_and_bad_columns(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"tokens": ["New", "York"], "ner_tags": ["B-LOC", "I-LOC"]}) + "\n", encoding="utf-8")
    assert read(path).documents[0].spans == (Span(0, 8, "LOC"),)
    with pytest.raises(InputError, match="no column labels"):
        read(path, extra={"tags_column": "labels"})
    path.write_text(json.dumps({"tokens": ["New", "York"], "ner_tags": [1, 2]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no ClassLabel"):
        read(path)
    assert read(path, extra={"tag_names": "O,B-LOC,I-LOC"}).documents[0].spans == (Span(0, 8, "LOC"),)
    path.write_text(json.dumps({"tokens": ["New", "York"], "ner_tags": ["B-LOC"]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 1: 2 tokens but 1 tags"):
        read(path)


def test_a_directory_that_is_not_a_saved_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="save_to_disk") as info:
        read(tmp_path)
    assert info.value.path == str(tmp_path)
    assert not FORMAT.sniff(tmp_path, "")


def test_sniff(tmp_path: Path) -> None:
    dataset().save_to_disk(str(tmp_path / "ds"))
    assert FORMAT.sniff(tmp_path / "ds", "")
    assert FORMAT.sniff(Path("x.parquet"), "")
    assert not FORMAT.sniff(Path("x.jsonl"), "{}")


def test_missing_datasets_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_datasets(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "datasets":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(MissingExtraError, match=r"nerbench\[hf-datasets\]"):
        read(tmp_path / "x.parquet")
