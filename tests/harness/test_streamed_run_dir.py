"""The run directory's files, written from streams, are byte for byte what the whole-text writer wrote.

The reference below is the writer as it was before it streamed (every prediction decoded, every cell's
details read whole, each file built as one string); the run is real: rules and CRF models on the quickstart's
gold sets, and fakes that fail documents and return invalid spans, written with tiny batches so every file
crosses many batch edges.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from nerbench.harness import rundir
from nerbench.harness.cells import scoring_schema
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.names import cell_file_stem, safe_name
from nerbench.harness.runner import RunOptions, RunOutcome, run_suite
from nerbench.harness.store import Store
from nerbench.harness.suite import ModelSpec, load_suite
from nerbench.labels import Resolution, resolve_label
from nerbench.types import Document
from tests.harness.conftest import REPO, write_gold
from tests.quickstart_suite import quickstart_suite


def _jsonl(lines: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def reference_gold(documents: Sequence[Document]) -> str:
    return _jsonl([
        {"id": d.id, "text": d.text, "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in d.spans],
         **({"tokens": [list(t) for t in d.tokens]} if d.tokens is not None else {})}
        for d in documents
    ])  # fmt: skip


def reference_predictions(store: Store, key: str, dataset: LoadedDataset, model: ModelSpec) -> str:
    stored = store.predictions(key)
    label_map = model.label_map_for(dataset.spec.name)
    schema = scoring_schema(dataset, label_map)
    lines = []
    for doc in dataset.documents:
        item = stored.get(doc.id)
        line: dict[str, Any] = {"id": doc.id, "text": doc.text, "spans": []}
        if item is None or item.error is not None:
            line["error"] = item.error if item is not None and item.error else "no prediction stored"
            lines.append(line)
            continue
        ignored, invalid = [], []
        for start, end, label, surface in item.spans:
            entry = {"start": start, "end": end, "native_label": label}
            if not 0 <= start < end <= len(doc.text) or (surface is not None and surface != doc.text[start:end]):
                invalid.append({**entry, "text": surface})
                continue
            target = resolve_label(label, label_map, schema)
            if target == Resolution.IGNORED:
                ignored.append(entry)
            else:
                kept = label if target == Resolution.OUT_OF_SCHEMA else target
                line["spans"].append({"start": start, "end": end, "label": kept, "native_label": label})
        line.update({k: v for k, v in (("ignored", ignored), ("invalid", invalid)) if v})
        lines.append(line)
    return _jsonl(lines)


def reference_files(outcome: RunOutcome) -> dict[str, str]:
    store, files = outcome.store, {}
    for d in outcome.datasets:
        files[f"gold/{safe_name(d.spec.name)}.jsonl"] = reference_gold(d.documents)
    models = {m.name: m for m in outcome.suite.models}
    by_name = {d.spec.name: d for d in outcome.datasets}
    details = store.cell_details(outcome.run_id)
    for cell in store.cells(outcome.run_id):
        if cell.get("cache_key") and cell["model"] in models and cell["dataset"] in by_name:
            name = cell_file_stem(cell["model"], cell["dataset"])
            dataset, model = by_name[cell["dataset"]], models[cell["model"]]
            files[f"predictions/{name}.jsonl"] = reference_predictions(store, cell["cache_key"], dataset, model)
            found = details.get((cell["model"], cell["dataset"]))
            if found:
                files[f"details/{name}.json"] = json.dumps(found, ensure_ascii=False)
    return files


def _suite(work: Path) -> Path:
    suite, models = quickstart_suite()
    people = write_gold(work / "people.jsonl", 23, marker_every=4)
    suite["datasets"].append({"name": "people", "path": str(people), "schema": {"PER": "a person", "LOC": "a place"}})
    suite["models"] = [
        models["rules-general"], models["rules-finance"], {**models["crf"], "max_iterations": 10},
        {"name": "raiser", "adapter": "tests.fakes:RaisesOn", "marker": "BOOM", "datasets": ["people"]},
        {"name": "sloppy", "adapter": "tests.fakes:Sloppy", "datasets": ["people", "general"]},
    ]  # fmt: skip
    suite["settings"] = {"latency_samples": 2, "warmup": 1, "bootstrap": 50, "seed": 0, "max_failed_share": 0.5}
    path = work / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_streamed_files_equal_the_whole_text_writers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))  # the workers import tests.fakes
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setattr(rundir, "_CHUNK", 3)  # lines and list items written three at a time
    monkeypatch.setattr(Store, "READ_BATCH", 4)  # predictions read four documents at a time
    options = RunOptions(store=tmp_path / "r.db", out_dir=tmp_path / "run", cache_dir=tmp_path / "cache")
    outcome = run_suite(load_suite(_suite(tmp_path)), options)
    try:
        rundir.write_run_dir(outcome, tmp_path / "run")
        expected = reference_files(outcome)
        statuses = {(c["model"], c["dataset"]): c["status"] for c in outcome.store.cells(outcome.run_id)}
    finally:
        outcome.store.close()
    written = {
        str(p.relative_to(tmp_path / "run")): p.read_text(encoding="utf-8")
        for p in (tmp_path / "run").rglob("*")
        if p.is_file() and p.parent.name in ("gold", "predictions", "details")
    }
    assert sorted(written) == sorted(expected)
    for name, text in expected.items():
        assert written[name] == text, name
    # what the run covers: every kind of line the writer has
    assert statuses[("raiser", "people")] == "done" and '"error": ' in expected["predictions/raiser__people.jsonl"]
    assert '"invalid": ' in expected["predictions/sloppy__people.jsonl"]
    assert len(expected["details/crf__general.json"]) > 1000
