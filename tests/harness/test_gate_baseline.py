"""The gate in CI: baselines a repository can keep, no self-approval, fail fast, and outputs on every exit."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from nerbench.harness.store import Store
from tests.harness.conftest import nerbench
from tests.harness.test_gate import _one_span_short, gold_gate, oracle, run_ids, variant


def verdicts(cwd: Path) -> list[str | None]:
    store = Store(cwd / "db")
    try:
        return [((r["info"] or {}).get("gate") or {}).get("verdict") for r in store.runs()]
    finally:
        store.close()


def test_re_running_a_failing_gate_still_fails(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    news = gold_files["news"]
    assert gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.9")[0] == 0  # the accepted state
    worse = ("--baseline", "latest", "--max-drop", "0.02")
    for _ in range(2):  # the failing gate's own run never becomes "latest"
        code, out, err = gold_gate(tmp_path, news, "tests.fakes:Capitalised", *worse)
        assert code == 1 and "F1 fell" in out, out + err
        assert f"Baseline: run {run_ids(tmp_path)[0]}" in out
    assert verdicts(tmp_path) == ["pass", "fail", "fail"]


def test_latest_is_the_latest_passing_run_on_this_gold_never_one_on_gold_of_the_same_name(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    """Two gold files called test.jsonl (one suite name, "gate-test"), gated in turn: each one's ``latest`` is
    its own passing run, not the other file's newer one."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = variant(gold_files["news"], tmp_path / "a" / "test.jsonl", lambda s: s)
    second = variant(gold_files["mail"], tmp_path / "b" / "test.jsonl", lambda s: s)
    assert gold_gate(tmp_path, first, oracle(first), "--min-f1", "0.9")[0] == 0
    assert gold_gate(tmp_path, second, oracle(second), "--min-f1", "0.9")[0] == 0
    code, out, err = gold_gate(tmp_path, first, oracle(first), "--baseline", "latest", "--max-drop", "0.02")
    assert code == 0 and f"Baseline: run {run_ids(tmp_path)[0]}" in out, out + err
    fresh = tmp_path / "c"
    fresh.mkdir()
    third = variant(gold_files["news"], fresh / "test.jsonl", lambda s: s if s["label"] == "PER" else None)
    code, out, err = gold_gate(tmp_path, third, oracle(third), "--baseline", "latest", "--max-drop", "0.02")
    assert code == 2 and "no passing run of suite 'gate-test' on this gold" in err, out + err


def test_an_accepted_baseline_file_gates_a_fresh_checkout_with_no_store(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    news = gold_files["news"]
    baseline = tmp_path / "ner-baseline.json"
    code, out, err = gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.9", "--accept", baseline)
    assert code == 0 and f"accepted as the baseline: {baseline}" in out, out + err
    document = json.loads(baseline.read_text(encoding="utf-8"))
    assert document["nerbench_baseline"]["run"] == run_ids(tmp_path)[-1]
    assert document["cells"][0]["details"]["per_doc"]  # self-contained: the drop check needs nothing else
    fresh = tmp_path / "fresh"
    fresh.mkdir()  # a new CI runner: no store, only the committed file
    code, out, err = gold_gate(fresh, news, "tests.fakes:Capitalised", "--baseline", baseline, "--max-drop", "0.05")
    assert code == 1 and "F1 fell" in out and f"Baseline: file {baseline}" in out, out + err
    code, out, err = gold_gate(fresh, news, oracle(news), "--baseline", baseline, "--max-drop", "0.05")
    assert code == 0, out + err
    run_dir = next((tmp_path / "runs").iterdir())  # a run directory is a baseline too
    code, out, err = gold_gate(fresh, news, oracle(news), "--baseline", run_dir, "--max-drop", "0.05")
    assert code == 0 and f"Baseline: file {run_dir}" in out, out + err


def test_a_baseline_scored_on_other_gold_is_exit_2_naming_both_hashes(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    news = gold_files["news"]
    baseline = tmp_path / "base.json"
    assert gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.5", "--accept", baseline)[0] == 0
    theirs = json.loads(baseline.read_text(encoding="utf-8"))["datasets"][0]["content_hash"]
    edited = variant(news, tmp_path / "data" / "news.jsonl", lambda s: s if s["label"] == "PER" else None)
    log = tmp_path / "calls.log"
    model = f"tests.fakes:Oracle:gold={edited},call_log={log}"
    code, _, err = gold_gate(tmp_path, edited, model, "--baseline", baseline, "--max-drop", "0.1")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"its gold content hash is {theirs[:16]}, the current gold's is " in err
    assert not log.exists()  # nothing loaded


def test_accept_never_overwrites_a_file_nerbench_did_not_write(tmp_path: Path, gold_files: dict[str, Path]) -> None:
    news = gold_files["news"]
    notes = tmp_path / "notes.json"
    notes.write_text('{"team": "our notes"}\n', encoding="utf-8")
    log = tmp_path / "calls.log"
    code, _, err = gold_gate(tmp_path, news, f"{oracle(news)},call_log={log}", "--min-f1", "0.5", "--accept", notes)
    assert code == 2 and "would overwrite a file nerbench did not write" in err
    assert notes.read_text(encoding="utf-8") == '{"team": "our notes"}\n' and not log.exists()
    ok = tmp_path / "base.json"
    assert gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.5", "--accept", ok)[0] == 0
    assert gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.5", "--accept", ok)[0] == 0  # its own file: replaced
    failing = gold_gate(tmp_path, news, "tests.fakes:Capitalised", "--min-f1", "0.9", "--accept", tmp_path / "no.json")
    assert failing[0] == 1 and not (tmp_path / "no.json").exists()  # only a passing gate is accepted


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--min-f1", "nan"], "min_f1 must be a number from 0 to 1, got nan"),
        (["--min-f1", "2"], "min_f1 must be a number from 0 to 1, got 2.0"),
        (["--min-f1-lower", "-0.1"], "min_f1_lower must be a number from 0 to 1"),
        (["--max-p95-ms", "inf"], "max_p95_ms must be a non-negative number, got inf"),
        (["--min-label-f1", "PERSON=0.5"], "the gold of news has no PERSON span (its labels: LOC, PER)"),
        (["--threshold", "min_bogus=1"], "unknown threshold 'min_bogus'"),
        (["--baseline", "latest"], "there is no results store here"),
        (["--baseline", "nope.json"], "nope.json: --baseline: no such file or directory"),
        (["--max-drop", "0.5"], "--max-drop needs --baseline"),
    ],
    ids=[
        "nan",
        "f1-above-1",
        "negative-lower",
        "inf",
        "label-gold-lacks",
        "unknown-key",
        "no-store",
        "no-file",
        "drop-without-baseline",
    ],
)
def test_bad_configuration_exits_2_before_any_model_loads_and_still_writes_the_outputs(
    tmp_path: Path, gold_files: dict[str, Path], flags: list[str], needle: str
) -> None:
    news, log = gold_files["news"], tmp_path / "calls.log"
    junit, summary = tmp_path / "gate.xml", tmp_path / "gate.md"
    code, out, err = gold_gate(tmp_path, news, f"{oracle(news)},call_log={log}", *flags, "--junit", junit,
                               "--summary", summary)  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, out + err
    assert needle in err
    assert not log.exists(), "a model was loaded before the configuration error"
    (error,) = ET.parse(junit).getroot().findall("./testsuite/testcase/error")
    assert needle in (error.get("message") or "")
    text = summary.read_text(encoding="utf-8")
    assert "ERROR (configuration: exit 2)" in text and needle.split(" (")[0] in text


def test_the_summary_names_the_baseline_and_its_f1_and_headings_match_values(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    news = gold_files["news"]
    assert gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.9")[0] == 0
    first = run_ids(tmp_path)[0]
    slightly = _one_span_short(news, tmp_path / "slightly.jsonl")
    summary = tmp_path / "gate.md"
    code, out, err = gold_gate(tmp_path, news, oracle(slightly), "--baseline", "latest", "--max-drop", "0.005",
                               "--min-f1", "0.9", "--summary", summary)  # fmt: skip
    assert code == 0, out + err
    text = summary.read_text(encoding="utf-8")
    assert f"- Baseline: run {first}, run 20" in text
    # 24 documents, one loses one of its spans: F1 0.9895 now, 1 in the baseline
    assert "- m / news: F1 0.9895 now, 1.0000 (95% CI 1.000–1.000) in the baseline" in text
    assert "| | model / dataset | measured | threshold | reason |" in text
    drop = next(line for line in text.splitlines() if "F1 drop vs baseline <=" in line)
    f1 = next(line for line in text.splitlines() if "F1 >= 0.9" in line)
    # each row's measured value names what it measures, under "measured", beside its threshold
    assert drop.startswith("| ✅ | m / news | F1 drop vs baseline 0.01053 | F1 drop vs baseline <= 0.005")
    assert f1.startswith("| ✅ | m / news | F1 0.9895 | F1 >= 0.9 |")


def test_min_f1_lower_fails_a_small_gold_set_that_passes_on_f1_alone(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    news = gold_files["news"]
    slightly = _one_span_short(news, tmp_path / "slightly.jsonl")
    code, out, err = gold_gate(tmp_path, news, oracle(slightly), "--min-f1", "0.98", "--min-f1-lower", "0.995")
    assert code == 1, out + err
    (failing,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert "F1 CI lower bound >= 0.995" in failing
    lower = float(failing.split("value ")[1].split(",")[0])
    assert lower < 0.995 and not math.isnan(lower)
    assert next(line for line in out.splitlines() if "F1 >= 0.98" in line).startswith("PASS")


def test_a_gate_scoped_to_a_model_the_suite_lacks_stops_before_the_run_and_leaves_latest_alone(
    tmp_path: Path, gold_files: dict[str, Path], write_suite: object
) -> None:
    news = gold_files["news"]
    assert gold_gate(tmp_path, news, oracle(news), "--min-f1", "0.9")[0] == 0
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"name: gate-news\ndatasets:\n  - {{name: news, path: {news}}}\nmodels:\n"
        f"  - {{name: m, adapter: 'tests.fakes:Oracle', gold: {news}}}\n"
        "gate:\n  models:\n    ghost: {min_f1: 0.5}\n",
        encoding="utf-8",
    )
    proc = nerbench("gate", suite, "--store", tmp_path / "db", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "the run has no model 'ghost' (its models: m)" in proc.stderr
    assert verdicts(tmp_path) == ["pass"]  # nothing ran, nothing recorded


def test_the_drop_check_uses_the_run_s_bootstrap_setting_and_with_none_any_drop_over_the_limit_fails() -> None:
    from nerbench.harness.cell_result import CellResult
    from nerbench.harness.gate import CellBaseline, DropCheck
    from nerbench.harness.results import Details

    ids = tuple(f"d{i}" for i in range(40))
    before = Details(ids, tuple((2, 2, 2) for _ in ids), ())
    after = Details(ids, tuple((2, 2, 2) if i else (0, 2, 2) for i in range(40)), ())  # one document lost 2 spans
    cell = CellResult("m", "news", "done", "crf")
    base = CellBaseline(cell, before)
    drop, failure = DropCheck(0.01, resamples=0).measure(cell, base, after)
    assert drop == pytest.approx(0.025) and failure is not None and "no bootstrap" in failure
    drop, failure = DropCheck(0.01, resamples=500).measure(cell, base, after)
    assert drop == pytest.approx(0.025) and failure is None  # one document of 40: not significant


def _gate_suite(tmp_path: Path, news: Path, gate: dict[str, object], log: Path) -> Path:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])  # nothing listens there once the block ends
    down = {"name": "down", "adapter": "llm", "base_url": f"http://127.0.0.1:{port}/v1", "model": "m",
            "max_retries": 0, "request_timeout_s": 2}  # fmt: skip
    suite = {
        "name": "g",
        "datasets": [{"name": "news", "path": str(news)}],
        "models": [{"name": "good", "adapter": "tests.fakes:Oracle", "gold": str(news), "call_log": str(log)}, down],
        "settings": {"latency_samples": 0, "warmup": 0, "bootstrap": 0},
        "gate": gate,
    }
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return path


def test_a_model_that_never_answered_fails_the_gate_even_where_no_check_names_it(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    suite = _gate_suite(tmp_path, gold_files["news"], {"models": {"good": {"min_f1": 0.9}}}, tmp_path / "calls.log")
    junit, summary = tmp_path / "gate.xml", tmp_path / "gate.md"
    proc = nerbench("gate", suite, "--junit", junit, "--summary", summary, "--store", tmp_path / "db",
                    cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PASS  good / news: F1 >= 0.9" in proc.stdout
    assert "FAIL  down / news: a result: value —, threshold a result (the cell is failed: every document failed " \
        "(connection)" in proc.stdout  # fmt: skip
    assert "down / news" in summary.read_text(encoding="utf-8")
    assert ET.parse(junit).getroot().get("failures") == "1"
    assert verdicts(tmp_path) == ["fail"]  # never a latest baseline, and --accept writes nothing


def test_a_check_scoped_to_a_model_or_dataset_the_run_lacks_stops_before_any_model_loads(
    tmp_path: Path, gold_files: dict[str, Path]
) -> None:
    log = tmp_path / "calls.log"
    for scope, needle in (("good/newz", "the run has no dataset 'newz' (its datasets: news)"),
                          ("godo", "the run has no model 'godo' (its models: good, down)")):  # fmt: skip
        suite = _gate_suite(tmp_path, gold_files["news"], {"models": {scope: {"min_f1": 0.5}}}, log)
        junit = tmp_path / "gate.xml"
        proc = nerbench("gate", suite, "--junit", junit, "--store", tmp_path / "db", cwd=tmp_path, check=False)
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert not log.exists() and ET.parse(junit).getroot().get("errors") == "1"
