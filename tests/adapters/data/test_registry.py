"""The format registry: the entry points match a checked-in list, and auto-detection picks each format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nerbench.adapters.data import detect_format, formats, get_format, read_corpus
from nerbench.adapters.data.base import DataFormat, WritableFormat
from nerbench.errors import ConfigError, InputError

# Adding a format means adding its entry point in pyproject.toml and its name here.
REGISTERED = ["brat", "conll", "doccano", "hf", "jsonl", "labelstudio", "spacy"]
WRITABLE = {"conll", "jsonl"}


def test_registered_formats_match_the_checked_in_list() -> None:
    assert list(formats()) == REGISTERED


@pytest.mark.parametrize("name", REGISTERED)
def test_every_format_satisfies_the_protocol(name: str) -> None:
    fmt = formats()[name]
    assert isinstance(fmt, DataFormat)
    assert fmt.name == name
    assert fmt.description
    assert all(ext.startswith(".") and ext == ext.lower() for ext in fmt.extensions)
    assert isinstance(fmt, WritableFormat) == (name in WRITABLE)


def test_an_unknown_format_name_says_did_you_mean() -> None:
    with pytest.raises(ConfigError, match=r"unknown format 'jsnol' \(did you mean 'jsonl'\?\).*labelstudio"):
        get_format("jsnol")
    with pytest.raises(ConfigError, match="did you mean 'labelstudio'"):
        read_corpus("whatever.json", format="label-studio")


def _text(name: str, content: str) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        return path

    return make


def _brat_pair(tmp_path: Path) -> Path:
    (tmp_path / "doc.txt").write_text("Paris is nice.", encoding="utf-8")
    (tmp_path / "doc.ann").write_text("T1\tLOC 0 5\tParis\n", encoding="utf-8")
    return tmp_path / "doc.ann"


def _brat_dir(tmp_path: Path) -> Path:
    _brat_pair(tmp_path)
    return tmp_path


def _brat_txt(tmp_path: Path) -> Path:
    return _brat_pair(tmp_path).with_suffix(".txt")


def _spacy(tmp_path: Path) -> Path:
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    doc = spacy.blank("en")("Paris is nice.")
    doc.ents = [doc.char_span(0, 5, "LOC")]
    DocBin(docs=[doc]).to_disk(tmp_path / "gold.spacy")
    return tmp_path / "gold.spacy"


def _hf_dataset(tmp_path: Path, parquet: bool) -> Path:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-LOC", "I-LOC"])),
        }
    )
    ds = datasets.Dataset.from_dict(
        {"tokens": [["Paris", "is", "nice", "."]], "ner_tags": [[1, 0, 0, 0]]}, features=features
    )
    if parquet:
        ds.to_parquet(str(tmp_path / "test.parquet"))
        return tmp_path / "test.parquet"
    ds.save_to_disk(str(tmp_path / "saved"))
    return tmp_path / "saved"


LABEL_STUDIO = [
    {
        "id": 1,
        "data": {"text": "Paris is nice."},
        "annotations": [
            {"result": [{"type": "labels", "value": {"start": 0, "end": 5, "text": "Paris", "labels": ["LOC"]}}]}
        ],
    }
]
SAMPLES: dict[str, Callable[[Path], Path]] = {
    "brat (.ann)": _brat_pair,
    "brat (.txt beside .ann)": _brat_txt,
    "brat (directory)": _brat_dir,
    "conll": _text("gold.conll", "-DOCSTART- O\n\nParis B-LOC\nis O\nnice O\n. O\n"),
    "doccano": _text("doccano.jsonl", json.dumps({"id": 1, "text": "Paris is nice.", "label": [[0, 5, "LOC"]]}) + "\n"),
    "doccano (entities)": _text(
        "doccano.jsonl",
        json.dumps(
            {"text": "Paris is nice.", "entities": [{"id": 1, "label": "LOC", "start_offset": 0, "end_offset": 5}]}
        ),
    ),
    "hf (save_to_disk)": lambda p: _hf_dataset(p, parquet=False),
    "hf (parquet)": lambda p: _hf_dataset(p, parquet=True),
    "jsonl": _text(
        "gold.jsonl", json.dumps({"text": "Paris is nice.", "spans": [{"start": 0, "end": 5, "label": "LOC"}]}) + "\n"
    ),
    "jsonl (entities)": _text("gold.json", json.dumps({"text": "Paris is nice.", "entities": [[0, 5, "LOC"]]}) + "\n"),
    "labelstudio": _text("export.json", json.dumps(LABEL_STUDIO, indent=2)),
    "labelstudio (one line)": _text("export.json", json.dumps(LABEL_STUDIO)),
    "labelstudio (JSON-MIN)": _text(
        "min.json",
        json.dumps(
            [
                {
                    "text": "Paris is nice.",
                    "id": 1,
                    "label": [{"start": 0, "end": 5, "text": "Paris", "labels": ["LOC"]}],
                    "annotator": 1,
                    "annotation_id": 1,
                    "lead_time": 2.0,
                }
            ],
            indent=2,
        ),
    ),
    "jsonl (byte-order mark)": _text(
        "gold.jsonl",
        "\ufeff" + json.dumps({"text": "Paris is nice.", "spans": [{"start": 0, "end": 5, "label": "LOC"}]}),
    ),
    "labelstudio (byte-order mark)": _text("export.json", "\ufeff" + json.dumps(LABEL_STUDIO)),
    "conll (first line over 8 KB, no final line break)": _text(
        "gold.txt", "Paris\t" + "NNP" * 3000 + "\tB-LOC\nis\tx\tO\nnice\tx\tO\n.\tx\tO"
    ),
    "conll (CR line ends)": _text("gold.conll", "Paris\tB-LOC\ris\tO\rnice\tO\r.\tO\r"),
    "spacy": _spacy,
}


@pytest.mark.parametrize("sample", SAMPLES)
def test_auto_detection_picks_each_format_on_a_sample(tmp_path: Path, sample: str) -> None:
    expected = sample.split()[0]
    if expected not in formats():
        pytest.skip(f"the {expected} format is not registered yet")
    path = SAMPLES[sample](tmp_path)
    assert detect_format(path).name == expected
    corpus = read_corpus(path)
    assert corpus.format == expected
    (doc,) = corpus.documents
    assert doc.text.startswith("Paris")
    assert [(s.start, s.end, s.label) for s in doc.spans] == [(0, 5, "LOC")]


def test_auto_detection_of_an_unknown_file_names_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# just some notes\n\nnothing to read here\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot tell the format.*labelstudio"):
        detect_format(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("gold.conll", "Paris\tB-LOC\n".encode("utf-16"), "the file is UTF-16, not UTF-8: save it as UTF-8"),
        ("gold.jsonl", '{"text": "Paris"}\n'.encode("utf-16-be"), "the file is UTF-16, not UTF-8"),
        ("gold.json", "[]".encode("utf-32"), "the file is UTF-32, not UTF-8"),
        ("gold.conll", b"", "file is empty"),
        ("gold.jsonl", b"\n \n\t\n", "file is empty"),
        ("gold.txt", b"\xef\xbb\xbf\n", "file is empty"),
    ],
    ids=["utf16-bom", "utf16-be-no-bom", "utf32", "empty", "blank", "bom-only"],
)
def test_auto_detection_says_why_a_file_cannot_be_read(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_corpus(path)
    assert info.value.path == str(path)
