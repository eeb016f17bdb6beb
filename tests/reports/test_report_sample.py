"""The report reads details as streams and keeps a bounded sample: what it shows equals what reading
everything showed.

The reference is the report's former reading, written out here: every details file decoded whole, every
gold and prediction line held, the examples chosen among all documents. The run is real (rules and CRF on the
quickstart's gold sets); its report is read from the run directory and from the store.
"""

from __future__ import annotations

import io
import json
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from nerbench.harness.results import Details, load_run
from nerbench.reports import stream
from nerbench.reports.charts import confusion_counts
from nerbench.reports.examples import Example, example, examples
from nerbench.reports.html import render_report
from nerbench.reports.model import Report, build_report, load_report, report_from
from nerbench.reports.sample import InMemory, Shown, cell_sample
from nerbench.reports.sources import DetailsFile
from nerbench.scoring import paired_bootstrap_counts
from tests.harness.conftest import nerbench as run_cli
from tests.quickstart_suite import quickstart_suite


@dataclass(frozen=True)
class Run:
    dir: Path
    store: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("sample")
    suite, models = quickstart_suite()
    crf4 = {**models["crf"], "name": "crf-4", "max_iterations": 4}
    suite["models"] = [models["rules-general"], models["rules-finance"], {**models["crf"], "max_iterations": 20}, crf4]
    suite["settings"] = {"latency_samples": 2, "warmup": 1, "bootstrap": 100, "seed": 0}
    (work / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    run_cli("run", work / "suite.yaml", "--out", work / "run", "--store", work / "db", cwd=work)
    return Run(work / "run", work / "db")


def _jsonl(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return {str(d["id"]): d for d in map(json.loads, filter(str.strip, path.read_text(encoding="utf-8").splitlines()))}


def reference_examples(run_dir: Path, details: Details, model: str, dataset: str, limit: int = 6) -> list[Example]:
    """The former ``examples()``: every document's instances grouped, the worst ``limit`` of those in gold."""
    gold = _jsonl(run_dir / "gold" / f"{dataset}.jsonl")
    if not gold:
        return []
    preds = _jsonl(run_dir / "predictions" / f"{model}__{dataset}.jsonl")
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for inst in details.instances:
        grouped[str(inst[0])].append(inst)
    order = {d: n for n, d in enumerate(details.doc_ids)}
    worst = sorted(
        (d for d in details.doc_ids if d in gold), key=lambda d: (-sum(i[3] != "COR" for i in grouped[d]), order[d])
    )
    return [example(gold[d], preds.get(d), grouped[d]) for d in worst[:limit]]


def check_against_reference(report: Report, run_dir: Path) -> None:
    whole = load_run(run_dir)
    assert report.samples.keys() == whole.details.keys()
    for (model, dataset), details in whole.details.items():
        sample = report.samples[(model, dataset)]
        assert np.array_equal(sample.counts.per_doc, np.asarray(details.per_doc).reshape(-1, 3))
        assert sample.confusion == confusion_counts(details)
        ranked = next(c for c in report.cells if (c.model, c.dataset) == (model, dataset)).ranked
        if ranked:
            assert examples(report, model, dataset) == reference_examples(run_dir, details, model, dataset)
    for board in report.boards:
        best, *rest = board.ranked
        a = whole.details[(best.model, board.dataset)]
        for row in rest:
            b = whole.details[(row.model, board.dataset)]
            assert row.vs_best == paired_bootstrap_counts(a.per_doc, b.per_doc, resamples=report.resamples)
    assert report.resamples == 100


def test_the_report_from_the_run_directory_shows_what_reading_everything_showed(run: Run) -> None:
    report = load_report(run.dir)
    check_against_reference(report, run.dir)
    assert any(examples(report, c.model, c.dataset) for c in report.cells)
    held = sum(len(lines) for lines in report.gold.values())
    assert 0 < held <= 6 * len(report.cells)  # the examples' documents, not the gold sets (63 documents)


def test_the_report_from_the_store_equals_the_report_from_the_run_directory(run: Run) -> None:
    from_dir, from_store = load_report(run.dir), load_report("latest", run.store)
    check_against_reference(from_store, run.dir)
    assert render_report(from_store) == render_report(from_dir) == render_report(build_report(load_run(run.dir)))


def test_a_gold_file_rewritten_since_limits_the_examples_to_its_documents(run: Run, tmp_path: Path) -> None:
    copy = tmp_path / "run"

    shutil.copytree(run.dir, copy)
    before = load_report(copy)
    model = before.boards[0].ranked[-1].model
    shown = [e.doc_id for e in examples(before, model, "general")]
    gold = (copy / "gold" / "general.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in gold if json.loads(line)["id"] not in shown[:2]]
    (copy / "gold" / "general.jsonl").write_text("".join(reversed(kept)), encoding="utf-8")
    after = load_report(copy)
    check_against_reference(after, copy)
    assert [e.doc_id for e in examples(after, model, "general")][:4] == shown[2:6]
    (copy / "gold" / "general.jsonl").unlink()
    assert examples(load_report(copy), model, "general") == []


def test_a_run_with_bootstrap_0_has_no_paired_comparison_in_its_report(run: Run) -> None:
    loaded = load_run(run.dir)
    settings = {**loaded.result.run.settings, "bootstrap": 0}
    result = replace(loaded.result, run=replace(loaded.result.run, settings=settings))
    report = report_from(result, {k: InMemory(d) for k, d in loaded.details.items()}, run.dir)
    assert report.resamples == 0
    for board in report.boards:
        assert all(r.vs_best is None for r in board.rows)
        assert board.compare(board.ranked[0], board.ranked[-1]) is None


def test_instance_records_in_another_order_give_the_same_sample(run: Run) -> None:
    details = load_run(run.dir).details[("crf-4", "general")]
    shuffled = list(details.instances)
    random.Random(0).shuffle(shuffled)
    ordered = cell_sample(InMemory(details))
    other = cell_sample(InMemory(replace(details, instances=tuple(shuffled))))
    assert ordered is not None and other is not None

    def shown(worst: tuple[Shown, ...]) -> list[tuple[str, int, list[str]]]:  # each document's records, any order
        return [(w.doc_id, w.errors, sorted(map(repr, w.instances))) for w in worst]

    assert shown(other.worst) == shown(ordered.worst) and other.confusion == ordered.confusion
    assert [w.doc_id for w in ordered.worst] == [e.doc_id for e in reference_examples(run.dir, details, "", "general")]
    from_file = cell_sample(DetailsFile(run.dir / "details" / "crf-4__general.json"))
    assert from_file is not None and from_file.worst == ordered.worst and from_file.confusion == ordered.confusion


@pytest.mark.parametrize("size", [1, 2, 7, 1 << 20])
def test_object_items_read_any_json_object_in_any_buffer_size(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(stream, "_READ", size)
    text = ' { "doc_ids" : [ "a" , "b\\"c", "\\u00e9" ] ,"per_doc":[[1,2,3],\n[40, 50, 600]], "n": 12345, '
    text += '"instances": [], "x": {"y": [1.5e3, null, true]}, "per_doc_columns": ["a"] } '
    items = list(stream.object_items(io.StringIO(text), ("doc_ids", "per_doc", "instances")))
    rebuilt: dict[str, Any] = {}
    for item in items:
        if item.streamed:
            rebuilt.setdefault(item.key, []).append(item.value)
        else:
            rebuilt[item.key] = item.value
    assert {**rebuilt, "instances": rebuilt.get("instances", [])} == json.loads(text)
    with pytest.raises(ValueError):
        list(stream.object_items(io.StringIO('{"doc_ids": ["a", "b"'), ("doc_ids",)))


@pytest.mark.parametrize("keep", [0, 1, 6, 1000])
def test_the_store_finds_the_same_examples_and_confusion_as_the_pass_over_every_record(run: Run, keep: int) -> None:
    from nerbench.harness.store import Store
    from nerbench.reports.sources import StoredDetails

    store = Store(run.store, read_only=True)
    try:
        run_id = store.latest_run_id() or ""
        for (model, dataset), (_, scoring_id) in store.cell_keys(run_id).items():
            assert scoring_id is not None
            source = StoredDetails(store, scoring_id)
            fast = cell_sample(source, keep=keep)
            slow = cell_sample(InMemory(source.whole()), keep=keep)
            assert fast is not None and slow is not None
            assert fast.worst == slow.worst, (model, dataset)
            assert dict(fast.confusion) == dict(slow.confusion), (model, dataset)
            assert keep == 0 or fast.worst
    finally:
        store.close()


@pytest.mark.parametrize(
    "text",
    ['{"documents": "x", "decisions": 7}', '{"docs": 5}', '{"doc_ids": 5}', '{"doc_ids": [], "per_doc": {}}',
     '{"doc_ids": ["a"], "instances": "x"}', "[", "[" * 100_000, "garbage"],
)  # fmt: skip
def test_a_details_file_nerbench_did_not_write_is_one_line_exit_2(run: Run, tmp_path: Path, text: str) -> None:
    """A details file of another shape stops the report with one line naming it, never a page missing its charts."""
    copy = tmp_path / "run"
    shutil.copytree(run.dir, copy)
    details = next(iter(sorted((copy / "details").iterdir())))
    details.write_text(text, encoding="utf-8")
    proc = run_cli("report", copy, "--out", tmp_path / "r.html", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{details}: not a nerbench details file" in proc.stderr
    assert not (tmp_path / "r.html").exists()
