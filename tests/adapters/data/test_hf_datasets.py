"""The Hugging Face datasets reader against real ``datasets``: save_to_disk, parquet, splits, tags."""

from __future__ import annotations

import builtins
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from nerbench.adapters.data.base import DataFormat, ReadOptions
from nerbench.adapters.data.hf_datasets import FORMAT
from nerbench.errors import InputError, MissingExtraError
from nerbench.types import Span

datasets = pytest.importorskip("datasets")
HfApi = pytest.importorskip("huggingface_hub").HfApi

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


# --- hardening ------------------------------------------------------------------------------


def write_rows(path: Path, *rows: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("tag", ["B-", "I-", "X-PER"])
def test_malformed_string_tags_are_errors_alone_or_beside_valid_ones(tmp_path: Path, tag: str) -> None:
    alone = write_rows(tmp_path / "a.jsonl", {"tokens": ["John", "ran"], "ner_tags": [tag, "O"]})
    with pytest.raises(InputError, match=f"row 1: token 1: malformed tag {tag!r}"):
        read(alone)
    beside = write_rows(
        tmp_path / "b.jsonl",
        {"tokens": ["Oslo"], "ner_tags": ["B-LOC"]},
        {"tokens": ["John"], "ner_tags": [tag]},
    )
    with pytest.raises(InputError, match=f"malformed tag {tag!r}") as info:
        read(beside)
    assert info.value.line == 2


def test_malformed_class_label_names_are_errors(tmp_path: Path) -> None:
    dataset({"tokens": [["John"]], "ner_tags": [[1]]}, names=["O", "X-PER"]).to_parquet(str(tmp_path / "t.parquet"))
    with pytest.raises(InputError, match="row 1: token 1: malformed tag 'X-PER'"):
        read(tmp_path / "t.parquet")


def test_duplicate_ids_are_refused_with_both_rows(tmp_path: Path) -> None:
    rows = {"id": ["a", "b", "a"], "tokens": [["x"], ["y"], ["z"]], "ner_tags": [[0], [0], [0]]}
    dataset(rows).save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(InputError, match="row 3: duplicate id 'a' \\(row 1 has it too\\): ids must be unique"):
        read(tmp_path / "ds")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"tokens": "John", "ner_tags": ["O"]}, "tokens must be a list of strings"),
        ({"tokens": ["John", 5], "ner_tags": ["O", "O"]}, "tokens must be a list of strings"),
        ({"tokens": ["John"], "ner_tags": "O"}, "tags must be a list of strings or of integers"),
        ({"tokens": ["John"], "ner_tags": [None]}, "tags must be a list"),
        ({"tokens": ["John"], "ner_tags": [True]}, "tags must be a list"),
        ({"tokens": ["John", "x"], "ner_tags": ["O", 1]}, "tags must be a list"),
        ({"tokens": ["John"], "ner_tags": [-1]}, "tag index -1 is not one of the 3 tag names"),
        ({"tokens": ["John"], "ner_tags": [3]}, "tag index 3 is not one of the 3 tag names"),
        ({"id": [1], "tokens": ["John"], "ner_tags": ["O"]}, "id must be a string or an integer"),
        ({"tokens": ["Jo\ud800hn"], "ner_tags": ["O"]}, "lone surrogate"),
    ],
)
def test_rows_of_the_wrong_shape_name_the_row_and_line(tmp_path: Path, row: dict[str, Any], message: str) -> None:
    first = {"id": "ok"} if "id" in row else {}
    path = write_rows(tmp_path / "rows.jsonl", {**first, "tokens": ["ok"], "ner_tags": ["O"]}, row)
    with pytest.raises(InputError, match=message) as info:
        read(path, extra={"tag_names": "O,B-LOC,I-LOC"})
    assert (info.value.path, info.value.line) == (str(path), 2)
    assert str(info.value).count("\n") == 0


def test_a_json_array_of_rows_reads_like_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(
        json.dumps([{"id": 7, "tokens": ["New", "York"], "ner_tags": ["B-LOC", "I-LOC"]}]), encoding="utf-8"
    )
    (doc,) = read(path).documents
    assert (doc.id, doc.spans) == ("7", (Span(0, 8, "LOC"),))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.parquet", b"", "cannot read this parquet file"),
        ("c.parquet", b"PAR1 garbage PAR1", "cannot read this parquet file"),
    ],
)
def test_a_corrupt_or_empty_parquet_file_is_one_error(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read(tmp_path / name)
    assert info.value.path == str(tmp_path / name) and "\n" not in str(info.value)


@pytest.mark.parametrize("state", ["", "{", "{}", '{"_data_files": 3}'])
def test_a_corrupt_save_to_disk_directory_is_one_error(tmp_path: Path, state: str) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "dataset_info.json").write_text("", encoding="utf-8")
    if state:
        (folder / "state.json").write_text(state, encoding="utf-8")
    with pytest.raises(InputError, match="cannot load this save_to_disk directory") as info:
        read(folder)
    assert info.value.path == str(folder) and "\n" not in str(info.value)


@pytest.mark.parametrize("typo", ["data/tset.parquet", "rows.jsonl", "/no/such/dir/ds", "{here}/missing/ds", "a/b/c"])
def test_a_local_path_that_does_not_exist_never_asks_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typo: str
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the hub was asked about a local path")

    monkeypatch.setattr(datasets, "get_dataset_split_names", no_network)
    monkeypatch.setattr(datasets, "load_dataset", no_network)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here").mkdir()
    path = Path(typo.replace("{here}", "here"))
    with pytest.raises(InputError, match="no such file") as info:
        read(path)
    assert info.value.path == str(path)


def test_a_hub_name_still_goes_to_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def offline(name: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(name)
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "get_dataset_split_names", offline)
    monkeypatch.setattr(HfApi, "dataset_info", lambda self, name, **kwargs: None)  # the hub has it
    for name in ("conll2003", "owner/some-name"):
        with pytest.raises(InputError, match="no hub dataset by this name \\(ConnectionError: offline\\)"):
            read(Path(name))
    assert asked == ["conll2003", "owner/some-name"]


class _Hub(http.server.BaseHTTPRequestHandler):
    """A hub that has no datasets: every lookup answers 404 as huggingface.co does."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Hub.asked.append(self.path)
        self.send_response(404)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "Repository not found"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("where", ["no dataset", "unreachable"])
def test_a_mistyped_hub_name_is_one_line_at_once_without_retries(tmp_path: Path, where: str) -> None:
    """The hub is asked once (no retries, no waiting): an unknown name, or a hub out of reach, is exit 2."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}" if where == "no dataset" else "http://127.0.0.1:9"
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"}
    started = time.monotonic()
    try:
        command = [sys.executable, "-m", "nerbench.cli", "convert", "nosuchname_typo", "o.jsonl", "--from", "hf"]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    finally:
        server.shutdown()
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert time.monotonic() - started < 15 and "Retry" not in proc.stderr
    expected = "the hub has no dataset by this name" if where == "no dataset" else "cannot be reached"
    assert proc.stderr.startswith("nerbench: error: nosuchname_typo: no such file, and ") and expected in proc.stderr
    assert not (tmp_path / "o.jsonl").exists()
    if where == "no dataset":
        assert _Hub.asked and all(p.startswith("/api/datasets/nosuchname_typo") for p in _Hub.asked)
