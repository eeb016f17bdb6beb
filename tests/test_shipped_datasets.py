"""The gold sets shipped in datasets/: reproducible from their sources, well-formed, and covering the tricky cases."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"
SPLITS = ("train", "test")

LABELS = {
    "general": ("PER", "ORG", "LOC", "MISC", "DATE", "MONEY"),
    "finance": ("COMPANY", "TICKER", "MONEY", "PERCENT", "DATE"),
}
MIN_SENTENCES = {"general": 320, "finance": 160}
MIN_ENTITIES = {
    "general": {"PER": 80, "ORG": 80, "LOC": 80, "MISC": 30, "DATE": 80, "MONEY": 40},
    "finance": {"COMPANY": 50, "TICKER": 50, "MONEY": 60, "PERCENT": 60, "DATE": 50},
}
# share of sentences in the train split: general about 70%, finance about 60%
TRAIN_SHARE = {"general": (0.62, 0.78), "finance": (0.52, 0.68)}


def load(name: str, split: str) -> list[dict]:
    path = DATASETS / name / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sentence_counts(name: str) -> dict[str, int]:
    """One sentence per text line of the source: not blank, not a ``;`` comment, not an ``@`` directive."""
    counts = dict.fromkeys(SPLITS, 0)
    split = None
    for line in (DATASETS / name / "source.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("@split"):
            split = line.split()[1]
        elif line.strip() and not line.startswith((";", "@")):
            assert split is not None
            counts[split] += 1
    return counts


def test_rebuild_reproduces_checked_in_jsonl(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(DATASETS / "build.py"), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert built == sorted(Path(name) / f"{split}.jsonl" for name in LABELS for split in SPLITS)
    for rel in built:
        assert (tmp_path / rel).read_bytes() == (DATASETS / rel).read_bytes(), f"{rel} is stale: run datasets/build.py"


@pytest.mark.parametrize("name", sorted(LABELS))
def test_source_declares_the_label_list(name: str) -> None:
    lines = (DATASETS / name / "source.txt").read_text(encoding="utf-8").splitlines()
    assert f"@labels {' '.join(LABELS[name])}" in lines


@pytest.mark.parametrize("name", sorted(LABELS))
@pytest.mark.parametrize("split", SPLITS)
def test_records_are_well_formed(name: str, split: str) -> None:
    docs = load(name, split)
    assert docs
    ids = [d["id"] for d in docs]
    assert len(set(ids)) == len(ids)
    for doc in docs:
        assert list(doc) == ["id", "text", "spans"]
        assert doc["id"].startswith(f"{name}-{split}-")
        text, previous_end = doc["text"], 0
        assert text and text == text.strip()
        for span in doc["spans"]:
            start, end, label = span["start"], span["end"], span["label"]
            assert 0 <= start < end <= len(text), (doc["id"], span)
            assert start >= previous_end, f"{doc['id']}: spans overlap or are not sorted at {span}"
            surface = text[start:end]
            assert surface == surface.strip(), (doc["id"], surface)
            assert label in LABELS[name], (doc["id"], label)
            previous_end = end


@pytest.mark.parametrize("name", sorted(LABELS))
def test_sentence_counts_and_split_share(name: str) -> None:
    counts = sentence_counts(name)
    total = sum(counts.values())
    assert total >= MIN_SENTENCES[name]
    low, high = TRAIN_SHARE[name]
    assert low <= counts["train"] / total <= high


@pytest.mark.parametrize("name", sorted(LABELS))
def test_entity_counts_per_label(name: str) -> None:
    for split in SPLITS:
        counts = Counter(s["label"] for d in load(name, split) for s in d["spans"])
        # every label must be learnable from train and measurable on test
        assert all(counts[label] >= 10 for label in LABELS[name]), (split, counts)
    total = Counter(s["label"] for split in SPLITS for d in load(name, split) for s in d["spans"])
    for label, minimum in MIN_ENTITIES[name].items():
        assert total[label] >= minimum, (label, total[label])


@pytest.mark.parametrize("name", sorted(LABELS))
def test_train_and_test_share_no_document(name: str) -> None:
    train = {d["text"] for d in load(name, "train")}
    test = {d["text"] for d in load(name, "test")}
    assert not train & test


def _surfaces(name: str) -> list[tuple[str, str, dict]]:
    return [
        (d["text"][s["start"] : s["end"]], s["label"], d)
        for split in SPLITS
        for d in load(name, split)
        for s in d["spans"]
    ]


@pytest.mark.parametrize("name", sorted(LABELS))
def test_tricky_cases_present(name: str) -> None:
    surfaces = _surfaces(name)
    assert any(not s.isascii() for s, _, _ in surfaces), "a non-ASCII entity"
    assert any(d["spans"] and d["spans"][0]["start"] == 0 for _, _, d in surfaces), "an entity at offset 0"
    assert any(d["spans"] and d["spans"][-1]["end"] == len(d["text"]) for _, _, d in surfaces), "an entity at the end"
    assert any(s.islower() for s, _, _ in surfaces), "a lower-case informal mention"


def test_general_tricky_cases() -> None:
    found = {(s, label) for s, label, _ in _surfaces("general")}
    for expected in [
        ("Bank of America Tower", "LOC"),
        ("University of California, Berkeley", "ORG"),
        ("AT&T", "ORG"),
        ("Yahoo!", "ORG"),
        ("St. John's", "LOC"),
        ("J.R.R. Tolkien", "PER"),
        ("$1.5 million", "MONEY"),
        ("3 March 2024", "DATE"),
        ("Q3 2025", "DATE"),
        ("José Álvarez", "PER"),
        ("Zürich", "LOC"),
        ("Łódź", "LOC"),
        ("Ngũgĩ wa Thiong'o", "PER"),
        ("Søren Kierkegaard", "PER"),
        ("東京", "LOC"),
        ("DELTA", "ORG"),
    ]:
        assert expected in found, expected
    docs = [d for split in SPLITS for d in load("general", split)]
    long_docs = [d for d in docs if len(d["text"]) > 3000]
    assert len(long_docs) >= 2
    assert {d["id"].split("-")[1] for d in long_docs} == set(SPLITS), "a long document in each split"
    # possessive 's and hyphenated forms stay outside the span
    assert any(d["text"][s["end"] : s["end"] + 2] == "'s" for d in docs for s in d["spans"])
    assert any(d["text"][s["end"] : s["end"] + 6] == "-based" for d in docs for s in d["spans"])
    # emoji next to an entity
    assert any(any(ord(c) >= 0x1F300 for c in d["text"]) and d["spans"] for d in docs)


def test_finance_tricky_cases() -> None:
    found = {(s, label) for s, label, _ in _surfaces("finance")}
    for expected in [
        ("AAPL", "TICKER"),
        ("$TSLA", "TICKER"),
        ("NYSE: IBM", "TICKER"),
        ("BRK.B", "TICKER"),
        ("3.2%", "PERCENT"),
        ("12 percent", "PERCENT"),
        ("-8.4%", "PERCENT"),
        ("$4.45", "MONEY"),
        ("USD 15.6 million", "MONEY"),
        ("¥1.2tn", "MONEY"),
        ("€412m", "MONEY"),
        ("Q3 2025", "DATE"),
        ("FY26", "DATE"),
    ]:
        assert expected in found, expected


def test_catalog_entries() -> None:
    catalog = yaml.safe_load((DATASETS / "catalog.yaml").read_text(encoding="utf-8"))
    entries = catalog["datasets"]
    names = {e["name"] for e in entries}
    assert {"CoNLL-2003", "OntoNotes 5.0", "WNUT-17", "MultiNERD", "WikiANN"} <= names
    for entry in entries:
        for key in ("name", "description", "licence", "redistributable", "labels", "reader", "source"):
            assert key in entry, (entry.get("name"), key)
        assert isinstance(entry["labels"], list) and entry["labels"]
        assert entry["reader"]["format"] in ("conll", "hf", "jsonl")
        assert isinstance(entry["source"], dict) and entry["source"]


def test_guideline_examples_match_the_annotation() -> None:
    """Every ``[surface|LABEL]`` example in GUIDELINES.md is annotated that way somewhere in the sets."""
    found = {(s, label) for name in LABELS for s, label, _ in _surfaces(name)}
    text = (DATASETS / "GUIDELINES.md").read_text(encoding="utf-8")
    examples = [e for e in re.findall(r"\[([^\]|\[]+)\|([A-Z]+)\]", text) if e != ("surface", "LABEL")]
    assert len(examples) > 100
    assert [e for e in examples if e not in found] == []
