"""The run directory: everything needed to recompute every number of a run, from the store.

``results.json`` (cells with metrics, latency, memory, cost, failures),
``results.csv`` (one row per cell), ``gold/<dataset>.jsonl`` (the gold documents
as read and repaired) and ``predictions/<model>__<dataset>.jsonl`` (each span's
``label`` after mapping into the schema, ``native_label`` the model's own) and
``details/<model>__<dataset>.json`` (per-document counts and every matching
decision, for paired bootstraps and error examples). Each
file is written to a temporary name and renamed: complete or absent.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nerbench.fileio import atomic_write
from nerbench.harness.cells import stored_spans
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.store import Store
from nerbench.harness.suite import ModelSpec, Suite
from nerbench.labels import Resolution, resolve_label
from nerbench.scoring import SCORER_VERSION
from nerbench.types import Document

CSV_COLUMNS = (
    "model", "dataset", "status", "adapter", "f1", "f1_ci_low", "f1_ci_high", "precision", "recall", "macro_f1",
    "schema_error_rate", "boundary_error_rate", "invalid_rate", "failed_docs", "load_s", "fit_s", "p50_ms", "p95_ms",
    "p99_ms", "docs_per_s", "chars_per_s", "peak_rss_mb", "usd", "usd_per_1k_docs", "usd_per_1m_chars", "cached",
    "error",
)  # fmt: skip


def _clean(value: Any) -> Any:
    """NaN and infinity become null: results are strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def results_document(store: Store, run_id: str) -> dict[str, Any]:
    """The ``results.json`` object of a run, from the store alone."""
    run = store.run(run_id)
    if run is None:
        raise KeyError(run_id)
    info = run["info"]
    cells = [{k: v for k, v in cell.items() if k not in ("cache_key", "details")} for cell in store.cells(run_id)]
    return _clean(
        {
            "run": {
                "id": run_id,
                "suite": run["suite"],
                "suite_path": run["suite_path"],
                "created_at": run["created_at"],
                "finished_at": run["finished_at"],
                "status": run["status"],
                "machine": info.get("machine"),
                "versions": info.get("versions"),
                "settings": info.get("settings"),
                "limit": info.get("limit"),
                "skipped_models": info.get("skipped_models", []),
                "scorer_version": SCORER_VERSION,
            },
            "datasets": info.get("datasets", []),
            "cells": cells,
        }
    )


def csv_rows(cells: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per cell, with CSV_COLUMNS."""
    rows = []
    for cell in cells:
        metrics = cell.get("metrics") or {}
        micro, latency = metrics.get("micro") or {}, cell.get("latency") or {}
        ci = micro.get("f1_ci") or [None, None]
        cost, memory, failures = cell.get("cost") or {}, cell.get("memory") or {}, cell.get("failures") or {}
        rows.append(
            {
                "model": cell["model"], "dataset": cell["dataset"], "status": cell.get("status"),
                "adapter": cell.get("adapter"), "f1": micro.get("f1"), "f1_ci_low": ci[0], "f1_ci_high": ci[1],
                "precision": micro.get("precision"), "recall": micro.get("recall"),
                "macro_f1": (metrics.get("macro") or {}).get("f1"),
                "schema_error_rate": metrics.get("schema_error_rate"),
                "boundary_error_rate": metrics.get("boundary_error_rate"),
                "invalid_rate": metrics.get("invalid_rate"),
                "failed_docs": failures.get("failed_docs"), "load_s": latency.get("load_s"),
                "fit_s": latency.get("fit_s"), "p50_ms": latency.get("p50_ms"), "p95_ms": latency.get("p95_ms"),
                "p99_ms": latency.get("p99_ms"), "docs_per_s": latency.get("docs_per_s"),
                "chars_per_s": latency.get("chars_per_s"), "peak_rss_mb": memory.get("peak_rss_mb"),
                "usd": cost.get("usd"), "usd_per_1k_docs": cost.get("usd_per_1k_docs"),
                "usd_per_1m_chars": cost.get("usd_per_1m_chars"), "cached": cell.get("cached"),
                "error": failures.get("error"),
            }
        )  # fmt: skip
    return rows


def _csv_text(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _jsonl(lines: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def gold_lines(documents: Sequence[Document]) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "text": d.text,
            "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in d.spans],
            **({"tokens": [list(t) for t in d.tokens]} if d.tokens is not None else {}),
        }
        for d in documents
    ]


def prediction_lines(store: Store, key: str, dataset: LoadedDataset, model: ModelSpec) -> list[dict[str, Any]]:
    """Predicted spans with schema labels; spans ignored on purpose or invalid are kept apart."""
    spans, failed = stored_spans(dataset, key, store)
    label_map = model.label_map_for(dataset.spec.name)
    schema = frozenset(dataset.spec.schema) or None
    lines = []
    for doc, doc_spans in zip(dataset.documents, spans, strict=True):
        kept, ignored, invalid = [], [], []
        for s in doc_spans:
            entry = {"start": s.start, "end": s.end, "native_label": s.label}
            if not 0 <= s.start < s.end <= len(doc.text) or (
                s.surface is not None and s.surface != doc.text[s.start : s.end]
            ):
                invalid.append({**entry, "text": s.surface})
                continue
            target = resolve_label(s.label, label_map, schema)
            if target == Resolution.IGNORED:
                ignored.append(entry)
            else:
                label = s.label if target == Resolution.OUT_OF_SCHEMA else target
                kept.append({"start": s.start, "end": s.end, "label": label, "native_label": s.label})
        line: dict[str, Any] = {"id": doc.id, "text": doc.text, "spans": kept}
        if ignored:
            line["ignored"] = ignored
        if invalid:
            line["invalid"] = invalid
        if doc.id in failed:
            line["error"] = failed[doc.id]
        lines.append(line)
    return lines


def write_run_dir(store: Store, run_id: str, out_dir: Path, suite: Suite, datasets: Sequence[LoadedDataset]) -> Path:
    """Write the run directory from the store; returns ``results.json``'s path."""
    document = results_document(store, run_id)
    for dataset in datasets:
        atomic_write(out_dir / "gold" / f"{safe_name(dataset.spec.name)}.jsonl", _jsonl(gold_lines(dataset.documents)))
    models = {m.name: m for m in suite.models}
    by_name = {d.spec.name: d for d in datasets}
    for cell in store.cells(run_id):
        if cell.get("cache_key") and cell["model"] in models and cell["dataset"] in by_name:
            lines = prediction_lines(store, cell["cache_key"], by_name[cell["dataset"]], models[cell["model"]])
            name = f"{safe_name(cell['model'])}__{safe_name(cell['dataset'])}"
            atomic_write(out_dir / "predictions" / f"{name}.jsonl", _jsonl(lines))
            if cell.get("details"):
                atomic_write(out_dir / "details" / f"{name}.json", json.dumps(cell["details"], ensure_ascii=False))
    atomic_write(out_dir / "results.csv", _csv_text(csv_rows(document["cells"])))
    path = out_dir / "results.json"
    atomic_write(path, json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return path
