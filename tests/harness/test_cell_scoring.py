"""A cell scored batch by batch from the store, over documents kept on disk, gives exactly the numbers of
scoring the whole cell at once (the runner before it streamed), and exactly the same details rows.

The run is real (the quickstart's rules and CRF models on its two gold sets); the streamed run is made to
cross every edge: documents spilled to disk in blocks of 7, scored 5 at a time, per-document rows kept as
distinct rows past 8 documents. The reference scores each cell whole, with the library functions the runner
called before: ``score``, ``bootstrap_ci``, ``compute_buckets``, ``relaxed_view``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from nerbench import doc_rows
from nerbench.adapters.data import read_corpus
from nerbench.buckets import compute_buckets
from nerbench.evaluation import Metrics
from nerbench.harness import cell_scoring, spilled
from nerbench.harness.cells import scoring_schema
from nerbench.harness.loading import content_hash, load_dataset
from nerbench.harness.rundir import write_run_dir
from nerbench.harness.runner import RunOptions, run_suite
from nerbench.harness.spilled import SpilledDocuments, collect
from nerbench.harness.suite import load_suite
from nerbench.scoring import bootstrap_ci, score
from nerbench.train_overlap import entity_keys
from nerbench.types import Span
from nerbench.views import relaxed_view
from tests.quickstart_suite import REPO, quickstart_suite

TIMINGS = {"latency", "memory", "cost", "usage", "cached", "describe"}  # measured, so they differ run to run


def _suite(tmp_path: Path, bootstrap: int) -> Path:
    suite, models = quickstart_suite()
    suite["models"] = [models["rules-general"], models["rules-finance"], models["crf"]]
    suite["settings"] = {**suite.get("settings", {}), "bootstrap": bootstrap, "latency_samples": 2, "warmup": 0}
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path


def _run(path: Path, tmp_path: Path, name: str) -> tuple[dict[tuple[str, str], dict[str, Any]], Any]:
    outcome = run_suite(load_suite(path), RunOptions(store=tmp_path / f"{name}.db", out_dir=tmp_path / name))
    write_run_dir(outcome, tmp_path / name)
    cells = {(c.model, c.dataset): c.to_json() for c in outcome.cells}
    return cells, outcome


def _streamed_to_the_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spilled, "KEEP_IN_MEMORY", 3)
    monkeypatch.setattr(spilled, "BLOCK", 7)
    monkeypatch.setattr(cell_scoring, "BATCH", 5)
    monkeypatch.setattr(doc_rows, "KEEP_WHOLE", 8)


@pytest.mark.parametrize("bootstrap", [0, 200])
def test_every_number_of_a_streamed_run_equals_scoring_each_cell_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bootstrap: int
) -> None:
    _streamed_to_the_edges(monkeypatch)
    cells, outcome = _run(_suite(tmp_path, bootstrap), tmp_path, "streamed")
    assert any(isinstance(d.documents, SpilledDocuments) for d in outcome.datasets)
    settings = outcome.suite.settings
    keys = outcome.store.cell_keys(outcome.run_id)
    details = outcome.store.cell_details(outcome.run_id)
    for dataset in outcome.datasets:
        gold = read_corpus(dataset.spec.test.path).documents
        assert list(dataset.documents) == list(gold)
        train = entity_keys(read_corpus(dataset.spec.train.path).documents) if dataset.spec.train else None
        for model in outcome.suite.models:
            if not model.runs_on(dataset.spec.name):
                continue
            cell = cells[(model.name, dataset.spec.name)]
            stored = outcome.store.predictions(keys[(model.name, dataset.spec.name)][0] or "")
            spans = [
                [Span(s, e, lab, sur) for s, e, lab, sur in stored[d.id].spans] if stored[d.id].error is None else []
                for d in gold
            ]
            label_map = model.label_map_for(dataset.spec.name)
            result = score(gold, spans, label_map=label_map, schema=scoring_schema(dataset, label_map))
            buckets = compute_buckets(
                gold, spans, result, train=train, train_split=dataset.spec.name, resamples=bootstrap,
                seed=settings.seed,
            )  # fmt: skip
            whole = Metrics.from_score(
                result, f1_ci=bootstrap_ci(result, resamples=bootstrap, seed=settings.seed) if bootstrap else None,
                repairs=dataset.repairs, label_cis={b.value: b.f1_ci for b in buckets if b.attribute == "label"},
                relaxed=relaxed_view(gold, spans, result, min_overlap=settings.min_overlap,
                                     measure=settings.overlap_measure, by_label=settings.min_overlap_by_label),
            )  # fmt: skip
            assert cell["metrics"] == json.loads(json.dumps(whole.to_json()))
            assert cell["buckets"] == json.loads(json.dumps([b.to_json() for b in buckets]))
            rows = details[(model.name, dataset.spec.name)]
            assert rows["doc_ids"] == list(result.doc_ids)
            assert rows["per_doc"] == result.per_doc.tolist()
            assert rows["instances"] == [
                [i.doc_id, i.gold_index, i.pred_index, i.cls.name, i.gold_label, i.pred_label] for i in result.instances
            ]
    outcome.store.close()


def test_a_streamed_run_writes_the_results_of_one_scored_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _suite(tmp_path, 300)
    whole, first = _run(path, tmp_path, "whole")
    first.store.close()
    _streamed_to_the_edges(monkeypatch)
    streamed, second = _run(path, tmp_path, "streamed")
    second.store.close()
    assert streamed.keys() == whole.keys()
    for key, cell in whole.items():
        assert {k: v for k, v in streamed[key].items() if k not in TIMINGS} == {
            k: v for k, v in cell.items() if k not in TIMINGS
        }
    for name in ("results.csv",):
        a = (tmp_path / "whole" / name).read_text(encoding="utf-8")
        b = (tmp_path / "streamed" / name).read_text(encoding="utf-8")
        assert len(a.splitlines()) == len(b.splitlines())
    for folder in ("gold", "predictions", "details"):
        for file in sorted((tmp_path / "whole" / folder).iterdir()):
            assert (tmp_path / "streamed" / folder / file.name).read_bytes() == file.read_bytes(), file


def test_documents_on_disk_read_back_as_the_sequence_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = list(read_corpus(REPO / "datasets/general/test.jsonl").documents)
    monkeypatch.setattr(spilled, "KEEP_IN_MEMORY", 4)
    monkeypatch.setattr(spilled, "BLOCK", 6)
    blocks = [docs[i : i + 5] for i in range(0, len(docs), 5)]
    kept = collect(blocks)
    assert isinstance(kept, SpilledDocuments)
    assert len(kept) == len(docs) and list(kept) == docs
    assert [kept[i] for i in range(len(docs))] == docs and kept[-1] == docs[-1]
    for start, stop in [(0, 0), (0, 6), (5, 13), (6, 12), (30, 99), (-3, len(docs)), (7, 3)]:
        assert kept[start:stop] == docs[start:stop]
    assert kept[::4] == docs[::4]
    with pytest.raises(IndexError):
        kept[len(docs)]
    limited = collect(blocks, limit=11)
    assert list(limited) == docs[:11]
    assert collect(blocks, limit=2) == tuple(docs[:2])


@pytest.mark.parametrize("source", ["datasets/general/test.jsonl", "conll"])
def test_a_dataset_read_in_blocks_hashes_and_counts_as_one_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    from nerbench.adapters.data import write_documents
    from nerbench.harness.suite import DataRef, DatasetSpec

    path = REPO / source
    if source == "conll":
        path = tmp_path / "gold.conll"
        write_documents(read_corpus(REPO / "datasets/general/test.jsonl").documents, path)
    monkeypatch.setattr(spilled, "KEEP_IN_MEMORY", 4)
    monkeypatch.setattr(spilled, "BLOCK", 3)
    for limit in (None, 9):
        spec = DatasetSpec("d", DataRef(path), None, {})
        loaded = load_dataset(spec, limit)
        docs = read_corpus(path).documents[:limit]
        content = content_hash([(d.id, d.text, d.tokens) for d in docs])
        assert loaded.content_hash == content
        assert loaded.gold_hash == content_hash(content, [[(s.start, s.end, s.label) for s in d.spans] for d in docs])
        assert list(loaded.documents) == list(docs)
        assert loaded.characters == sum(len(d.text) for d in docs)
        assert loaded.words == sum(len(d.text.split()) for d in docs)
        assert loaded.entities == sum(len(d.spans) for d in docs)
        assert loaded.gold_labels == {s.label for d in docs for s in d.spans}


def test_each_cell_s_files_are_written_as_it_finishes_and_a_killed_run_s_directory_is_taken_again(
    tmp_path: Path,
) -> None:
    path = _suite(tmp_path, 0)
    out = tmp_path / "run"
    seen: list[set[str]] = []

    def stop_after_the_first_cell(event: str, **data: Any) -> None:
        if event == "cell_done":
            seen.append({p.name for p in (out / "predictions").iterdir()})
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(load_suite(path), RunOptions(store=tmp_path / "r.db", out_dir=out), stop_after_the_first_cell)
    assert seen == [{"rules-general__general.jsonl"}]  # on disk when the cell was reported done
    assert (out / ".nerbench-run").is_file() and not (out / "results.json").exists()
    assert {p.name for p in (out / "details").iterdir()} == {"rules-general__general.json"}
    (out / "predictions" / "gone__general.jsonl").write_text("{}\n", encoding="utf-8")  # the killed run's own
    cells, outcome = _run(path, tmp_path, "run")  # a new run into the killed run's directory
    outcome.store.close()
    assert not (out / ".nerbench-run").exists() and (out / "results.json").is_file()
    assert {p.stem for p in (out / "predictions").iterdir()} == {
        f"{m}__{d}" for m, d in cells
    }  # every cell's file, the stale one removed


def test_a_scoring_left_pending_by_a_killed_run_is_replaced_with_its_rows(tmp_path: Path) -> None:
    from nerbench.harness.store import Store

    store = Store(tmp_path / "r.db")
    first = store.begin_scoring("run/m/d")
    store.add_details(first, 0, 0, ["a", "b"], [[1, 1, 1], [0, 1, 0]], [["a", 0, 0, "COR", "PER", "PER"]])
    second = store.begin_scoring("run/m/d")  # the cell scored again
    rows = store.db.execute("SELECT COUNT(*) FROM doc_counts WHERE scoring_id = ?", (first,)).fetchone()[0]
    assert rows == 0
    store.add_details(second, 0, 0, ["a"], [[1, 1, 1]], [["a", 0, 0, "COR", "PER", "PER"]])
    assert store.finish_scoring(second, "key", {"model": "m"}) == second
    assert store.scoring("key") == {"model": "m"}
    third = store.begin_scoring("other/m/d")  # another run's scoring of the same inputs, finished later
    assert store.finish_scoring(third, "key", {"model": "m"}) == second
    assert store.db.execute("SELECT COUNT(*) FROM scorings").fetchone()[0] == 1
    store.close()


def test_a_cache_hit_copies_an_earlier_run_s_unchanged_files_and_writes_changed_ones_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nerbench.harness import rundir

    path = _suite(tmp_path, 0)
    store = tmp_path / "r.db"

    def run(name: str) -> Path:
        outcome = run_suite(load_suite(path), RunOptions(store=store, out_dir=tmp_path / name))
        write_run_dir(outcome, tmp_path / name)
        outcome.store.close()
        return tmp_path / name

    first = run("first")
    files = json.loads((first / "results.json").read_text(encoding="utf-8"))["files"]
    assert {f.split("/")[0] for f in files} == {"gold", "predictions", "details"}

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file an earlier run wrote, unchanged, was written again")

    with monkeypatch.context() as m:
        m.setattr(rundir, "prediction_lines", not_again)
        m.setattr(rundir, "gold_lines", not_again)
        second = run("second")
    for name in files:
        assert (second / name).read_bytes() == (first / name).read_bytes(), name
    original = (first / "predictions" / "crf__general.jsonl").read_bytes()
    for earlier in (first, second):  # changed in both earlier runs: written again from the store
        tampered = earlier / "predictions" / "crf__general.jsonl"
        tampered.write_bytes(original.replace(b'"spans": [', b'"spans": [ ', 1))
    (second / "details" / "crf__finance.json").unlink()  # gone from the newest run: the older run's is copied
    third = run("third")
    assert (third / "predictions" / "crf__general.jsonl").read_bytes() == original
    assert (third / "details" / "crf__finance.json").read_bytes() == (
        first / "details" / "crf__finance.json"
    ).read_bytes()


def test_no_room_for_documents_on_disk_is_one_line_naming_the_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os
    import tempfile

    from nerbench.errors import InputError

    docs = list(read_corpus(REPO / "datasets/general/test.jsonl").documents)
    monkeypatch.setattr(spilled, "KEEP_IN_MEMORY", 2)
    monkeypatch.setattr(spilled, "BLOCK", 4)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "absent"))
    with pytest.raises(InputError, match=r"temporary directory .*absent.*TMPDIR"):
        collect([docs])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(InputError, match=r"No space left on device.*free space there"):
        collect([docs])
