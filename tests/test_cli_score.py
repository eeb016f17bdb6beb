"""`nerbench score` and `nerbench convert` driven as a user would: a subprocess on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NERBENCH = [sys.executable, "-m", "nerbench.cli"]

GOLD = "John\tB-PER\nSmith\tI-PER\nvisited\tO\nParis\tB-LOC\n.\tO\n\nApple\tB-ORG\nsells\tO\nphones\tO\n"
PRED = "John\tB-PER\nSmith\tO\nvisited\tO\nParis\tB-ORG\n.\tO\n\nApple\tB-ORG\nsells\tO\nphones\tB-MISC\n"


def run(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*NERBENCH, *map(str, args)], capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.conll"
    gold.write_text(GOLD, encoding="utf-8")
    pred.write_text(PRED, encoding="utf-8")
    return gold, pred


def test_score_json_has_the_documented_shape(files: tuple[Path, Path]) -> None:
    gold, pred = files
    metrics = json.loads(run("score", "--gold", gold, "--pred", pred, "--json").stdout)
    assert set(metrics["micro"]) == {"precision", "recall", "f1", "f1_ci"}
    assert set(metrics["macro"]) == {"precision", "recall", "f1"}
    assert set(metrics["per_label"]["PER"]) >= {"precision", "recall", "f1", "support"}
    counts = metrics["counts"]
    assert {k: counts[k] for k in ("gold", "predicted", "correct", "label_error", "boundary_error")} == {
        "gold": 3, "predicted": 4, "correct": 1, "label_error": 1, "boundary_error": 1,
    }  # fmt: skip
    # MISC is no gold label: without --schema, the gold's labels are the schema, so it is out-of-schema
    assert (counts["spurious"], counts["missed"], counts["out_of_schema"], counts["invalid"]) == (0, 0, 1, 0)
    assert metrics["micro"]["f1"] == pytest.approx(2 * 1 / (3 + 4))
    assert set(metrics["semeval"]) == {"strict", "exact", "partial", "type"}
    assert metrics["repairs"] == 0
    lo, hi = metrics["micro"]["f1_ci"]
    assert 0.0 <= lo <= hi <= 1.0


def test_score_prints_tables_without_json(files: tuple[Path, Path]) -> None:
    gold, pred = files
    text = run("score", "--gold", gold, "--pred", pred, "--bootstrap", "0").stdout
    assert "micro" in text and "PER" in text and "SemEval" in text
    metrics = json.loads(run("score", "--gold", gold, "--pred", pred, "--json").stdout)
    text = run("score", "--gold", gold, "--pred", pred).stdout  # per-label rows: the CI, then the gold spans
    for label, row in metrics["per_label"].items():
        lo, hi = row["f1_ci"]
        cells = next(line for line in text.splitlines() if f" {label} " in line).replace("│", " ").split()
        assert cells[-2:] == [f"{lo:.4f}–{hi:.4f}", str(row["support"])], label


def test_score_pairs_jsonl_predictions_with_conll_gold_by_order(files: tuple[Path, Path], tmp_path: Path) -> None:
    gold, _ = files
    doc1 = "John Smith visited Paris ."
    pred = tmp_path / "pred.jsonl"
    lines = [
        {"id": "x1", "text": doc1, "spans": [{"start": 0, "end": len("John Smith"), "label": "PER"}]},
        {"id": "x2", "text": "Apple sells phones", "spans": [{"start": 0, "end": 5, "label": "ORG"}]},
    ]
    pred.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    metrics = json.loads(run("score", "--gold", gold, "--pred", pred, "--json", "--bootstrap", "0").stdout)
    assert metrics["counts"]["correct"] == 2 and metrics["counts"]["missed"] == 1


def test_score_label_map_turns_unknown_labels_out_of_schema(files: tuple[Path, Path], tmp_path: Path) -> None:
    gold, pred = files
    mapping = tmp_path / "map.yaml"
    mapping.write_text("PER: PER\nORG: ORG\nLOC: LOC\n", encoding="utf-8")
    metrics = json.loads(run("score", "--gold", gold, "--pred", pred, "--map", mapping, "--json").stdout)
    assert metrics["counts"]["out_of_schema"] == 1  # MISC has no mapping
    assert metrics["schema_error_rate"] == pytest.approx((1 + 1) / 4)


def test_text_mismatch_names_the_document(files: tuple[Path, Path], tmp_path: Path) -> None:
    gold, _ = files
    pred = tmp_path / "pred.conll"
    pred.write_text(GOLD.replace("Paris", "Rome"), encoding="utf-8")
    proc = run("score", "--gold", gold, "--pred", pred, ok=False)
    assert proc.returncode == 2
    assert str(pred) in proc.stderr and "text differs" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "needle", "line"),
    [
        (b"", "empty", None),
        (b"John\tB-PER\n\xff\xfe\tO\n", "UTF-8", 2),
        (b"John\tB-PER\nSmith\tI-PER\tEXTRA\tCOLS\nx\n", "column", 3),
        (b"John\tI-PER\n", "IOB2", 1),
    ],
    ids=["empty", "not-utf8", "columns", "scheme-violation"],
)
def test_bad_gold_is_one_line_exit_2(tmp_path: Path, content: bytes, needle: str, line: int | None) -> None:
    gold = tmp_path / "bad.conll"
    gold.write_bytes(content)
    args = ["score", "--gold", gold, "--pred", gold, "--format", "conll"]
    if needle == "IOB2":
        args += ["--scheme", "IOB2", "--repair", "error"]
    proc = run(*args, ok=False)
    assert proc.returncode == 2, proc.stderr
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert str(gold) in message and needle.lower() in message.lower()
    if line is not None:
        assert f"{gold}:{line}" in message


def test_invalid_json_line_is_named(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "a b", "spans": []}\n{"text": "oops"\n', encoding="utf-8")
    proc = run("score", "--gold", gold, "--pred", gold, ok=False)
    assert proc.returncode == 2 and f"{gold}:2" in proc.stderr and "JSON" in proc.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.conll"
    proc = run("--debug", "score", "--gold", missing, "--pred", missing, ok=False)
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_convert_conll_to_jsonl_and_back(files: tuple[Path, Path], tmp_path: Path) -> None:
    gold, _ = files
    as_jsonl, back = tmp_path / "gold.jsonl", tmp_path / "back.conll"
    assert "wrote 2 documents, 3 spans" in run("convert", gold, as_jsonl).stdout
    run("convert", as_jsonl, back)
    metrics = json.loads(run("score", "--gold", gold, "--pred", back, "--json", "--bootstrap", "0").stdout)
    assert metrics["micro"]["f1"] == 1.0


def test_schema_option_makes_a_label_the_gold_lacks_a_spurious_prediction(files: tuple[Path, Path]) -> None:
    gold, pred = files
    metrics = json.loads(run("score", "--gold", gold, "--pred", pred, "--json", "--schema", "PER,LOC,ORG,MISC").stdout)
    assert (metrics["counts"]["spurious"], metrics["counts"]["out_of_schema"]) == (1, 0)
    assert run("score", "--gold", gold, "--pred", pred, "--schema", " , ", ok=False).returncode == 2


def test_predictions_in_another_vocabulary_warn_and_name_the_maps_that_fit(tmp_path: Path) -> None:
    gold = tmp_path / "gold.conll"
    gold.write_text("John\tB-PER\nlives\tO\nin\tO\nParis\tB-LOC\n\nApple\tB-ORG\nrose\tO\n", encoding="utf-8")
    pred = tmp_path / "pred.conll"
    pred.write_text("John\tB-PERSON\nlives\tO\nin\tO\nParis\tB-GPE\n\nApple\tB-ORG\nrose\tO\n", encoding="utf-8")
    proc = run("score", "--gold", gold, "--pred", pred)
    (warning,) = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert "2 of 3 predicted spans carry labels outside the gold's labels (LOC, ORG, PER): GPE, PERSON" in warning
    # ontonotes-to-conll would produce MISC, which this gold does not have: only the WikiANN map fits
    assert "--map ontonotes-to-wikiann" in warning and "ontonotes-to-conll" not in warning
    mapped = run("score", "--gold", gold, "--pred", pred, "--map", "ontonotes-to-conll", "--json")
    assert "warning" not in mapped.stderr and json.loads(mapped.stdout)["micro"]["f1"] == 1.0


def test_a_labels_ci_is_the_same_with_and_without_buckets(tmp_path: Path) -> None:
    """3,000 documents of few distinct count rows (the bootstrap draws groups of equal rows): a label's CI comes
    from the label columns alone, so asking for the other buckets does not move it."""
    import random

    rng = random.Random(0)
    gold, pred = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    with gold.open("w", encoding="utf-8") as g, pred.open("w", encoding="utf-8") as p:
        for i in range(3000):
            name = rng.choice(["Ada Lovelace", "Bob", "Carl Friedrich Gauss", "Dee"])
            place = rng.choice(["Paris", "Rome"])
            text = f"{name} met us in {place}."
            at = text.index(place)
            spans = [{"start": 0, "end": len(name), "label": "PER"},
                     {"start": at, "end": at + len(place), "label": "LOC"}]  # fmt: skip
            found = [dict(s) for s in spans if rng.random() > 0.2]
            if found and rng.random() < 0.1:
                found[0]["label"] = "LOC"
            g.write(json.dumps({"id": f"d{i}", "text": text, "spans": spans}) + "\n")
            p.write(json.dumps({"id": f"d{i}", "text": text, "spans": found}) + "\n")
    cis = []
    for extra in ((), ("--buckets",)):
        metrics = json.loads(run("score", "--gold", gold, "--pred", pred, "--json", *extra).stdout)
        cis.append({label: s["f1_ci"] for label, s in metrics["per_label"].items()})
    assert set(cis[0]) == {"PER", "LOC"} and cis[0] == cis[1]
