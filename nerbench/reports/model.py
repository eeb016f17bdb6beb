"""The report's data: one run's stored results as small typed rows, read from a run directory or the store.

Nothing here scores or runs a model: every number comes from ``results.json`` and the run's ``details/``,
``gold/`` and ``predictions/`` files (or the store's cells). Renderers (HTML, Markdown) read only this.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nerbench.errors import InputError
from nerbench.harness.results import resolve_run
from nerbench.harness.rundir import results_document, safe_name
from nerbench.harness.store import DEFAULT_STORE, Store
from nerbench.scoring import PairedComparison, paired_bootstrap_counts


@dataclass(frozen=True)
class Row:
    """One model on one dataset: the leaderboard's numbers (None where not measured)."""

    model: str
    dataset: str
    status: str
    adapter: str
    family: str
    f1: float | None
    f1_ci: tuple[float, float] | None = None
    kind: str = ""  # the adapter's declared kind (rules, zero-shot); empty: a pretrained or trained model
    notice: str = ""  # what users must know about the service, e.g. its end of support
    precision: float | None = None
    recall: float | None = None
    macro_f1: float | None = None
    schema_error_rate: float | None = None
    boundary_error_rate: float | None = None
    invalid_rate: float | None = None
    failed_docs: int = 0
    error: str | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    docs_per_s: float | None = None
    load_s: float | None = None
    fit_s: float | None = None
    peak_rss_mb: float | None = None
    usd_per_1k: float | None = None
    per_label: Mapping[str, float | None] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    describe: Mapping[str, str] = field(default_factory=dict)  # the adapter's describe(): versions, architecture
    vs_best: PairedComparison | None = None  # paired bootstrap against the board's most accurate model


@dataclass(frozen=True)
class Details:
    """Per-document counts and per-instance match records of one cell (``details/M__D.json``)."""

    doc_ids: tuple[str, ...]
    per_doc: tuple[tuple[int, int, int], ...]
    instances: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Board:
    """One dataset's leaderboard, most accurate first (failed cells last)."""

    dataset: str
    info: Mapping[str, Any]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs about one run."""

    run: Mapping[str, Any]
    datasets: tuple[Mapping[str, Any], ...]
    boards: tuple[Board, ...]
    cells: tuple[Mapping[str, Any], ...]
    details: Mapping[tuple[str, str], Details]
    gold: Mapping[str, Mapping[str, Any]]  # dataset -> doc id -> {"text", "spans"}
    predictions: Mapping[tuple[str, str], Mapping[str, Any]]  # (model, dataset) -> doc id -> prediction line

    def board(self, dataset: str) -> Board | None:
        return next((b for b in self.boards if b.dataset == dataset), None)


def _get(mapping: Mapping[str, Any] | None, *keys: str) -> Any:
    value: Any = mapping
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def row_from_cell(cell: Mapping[str, Any]) -> Row:
    """A leaderboard row from one stored cell (the ``results.json`` shape)."""
    metrics, latency = cell.get("metrics") or {}, cell.get("latency") or {}
    ci = _get(metrics, "micro", "f1_ci")
    return Row(
        model=str(cell["model"]), dataset=str(cell["dataset"]), status=str(cell.get("status", "done")),
        adapter=str(cell.get("adapter") or ""), family=str(cell.get("family") or cell.get("adapter") or ""),
        kind=str(cell.get("kind") or ""), notice=str(cell.get("notice") or ""),
        f1=_get(metrics, "micro", "f1"), f1_ci=(ci[0], ci[1]) if ci else None,
        precision=_get(metrics, "micro", "precision"), recall=_get(metrics, "micro", "recall"),
        macro_f1=_get(metrics, "macro", "f1"), schema_error_rate=metrics.get("schema_error_rate"),
        boundary_error_rate=metrics.get("boundary_error_rate"), invalid_rate=metrics.get("invalid_rate"),
        failed_docs=int(_get(cell, "failures", "failed_docs") or 0), error=_get(cell, "failures", "error"),
        p50_ms=latency.get("p50_ms"), p95_ms=latency.get("p95_ms"), docs_per_s=latency.get("docs_per_s"),
        load_s=latency.get("load_s"), fit_s=latency.get("fit_s"), peak_rss_mb=_get(cell, "memory", "peak_rss_mb"),
        usd_per_1k=_get(cell, "cost", "usd_per_1k_docs"),
        per_label={k: v.get("f1") for k, v in (metrics.get("per_label") or {}).items()},
        counts=dict(metrics.get("counts") or {}),
        describe={str(k): str(v) for k, v in (cell.get("describe") or {}).items()},
    )  # fmt: skip


def _details(raw: Mapping[str, Any] | None) -> Details | None:
    if not raw or "per_doc" not in raw:
        return None
    return Details(
        tuple(raw.get("doc_ids") or ()),
        tuple((int(a), int(b), int(c)) for a, b, c in raw["per_doc"]),
        tuple(tuple(i) for i in raw.get("instances") or ()),
    )


def compare(a: Details | None, b: Details | None, *, resamples: int = 1000) -> PairedComparison | None:
    """Paired bootstrap of F1(a) - F1(b), or None when the two cells are not over the same documents."""
    if a is None or b is None or a.doc_ids != b.doc_ids or not a.per_doc:
        return None
    try:
        return paired_bootstrap_counts(a.per_doc, b.per_doc, resamples=resamples)
    except ValueError:
        return None


def _sort_key(row: Row) -> tuple[bool, float]:
    return (row.status != "done" or row.f1 is None, -(row.f1 or 0.0))


def build_boards(
    datasets: Sequence[Mapping[str, Any]], rows: Sequence[Row], details: Mapping[tuple[str, str], Details]
) -> tuple[Board, ...]:
    """Rows grouped by dataset, best first, each marked with its paired bootstrap against the leader."""
    boards = []
    names = [str(d["name"]) for d in datasets] + sorted({r.dataset for r in rows} - {str(d["name"]) for d in datasets})
    for name in names:
        ranked = sorted((r for r in rows if r.dataset == name), key=_sort_key)
        if ranked and ranked[0].f1 is not None:
            best = details.get((ranked[0].model, name))
            ranked = [ranked[0]] + [
                _with(r, vs_best=compare(best, details.get((r.model, name)))) if r.f1 is not None else r
                for r in ranked[1:]
            ]
        info = next((d for d in datasets if d["name"] == name), {"name": name})
        boards.append(Board(name, info, tuple(ranked)))
    return tuple(boards)


def _with(row: Row, **changes: Any) -> Row:
    return replace(row, **changes)


def _read_jsonl(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    lines = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {str(d["id"]): d for d in lines}


def _files(
    out_dir: Path, cells: Sequence[Mapping[str, Any]], datasets: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    gold = {str(d["name"]): _read_jsonl(out_dir / "gold" / f"{safe_name(str(d['name']))}.jsonl") for d in datasets}
    preds = {
        (c["model"], c["dataset"]): _read_jsonl(
            out_dir / "predictions" / f"{safe_name(c['model'])}__{safe_name(c['dataset'])}.jsonl"
        )
        for c in cells
    }
    return gold, preds


def build_report(
    document: Mapping[str, Any], raw_details: Mapping[tuple[str, str], Any], out_dir: Path | None
) -> Report:
    """A Report from a ``results.json`` document, its cells' details, and the run directory (if any)."""
    cells = tuple(document.get("cells") or ())
    datasets = tuple(document.get("datasets") or ())
    details = {k: d for k, v in raw_details.items() if (d := _details(v)) is not None}
    gold, preds = _files(out_dir, cells, datasets) if out_dir and out_dir.is_dir() else ({}, {})
    boards = build_boards(datasets, [row_from_cell(c) for c in cells], details)
    return Report(document["run"], datasets, boards, cells, details, gold, preds)


def _from_dir(run_dir: Path) -> Report:
    path = run_dir / "results.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read run results: {err}", path=path) from None
    raw = {}
    for c in document.get("cells") or ():
        detail = run_dir / "details" / f"{safe_name(c['model'])}__{safe_name(c['dataset'])}.json"
        if detail.exists():
            raw[(c["model"], c["dataset"])] = json.loads(detail.read_text(encoding="utf-8"))
    return build_report(document, raw, run_dir)


def load_report(run: str | Path, store: str | Path = DEFAULT_STORE) -> Report:
    """The report of ``run``: a run directory, or a run id / prefix / ``latest`` in ``store``."""
    path = Path(run)
    if path.is_dir():
        return _from_dir(path)
    if not Path(store).exists():
        raise InputError(f"{str(run)!r} is not a run directory and there is no results store here", path=store)
    db = Store(store)
    try:
        run_id = resolve_run(db, str(run))
        document = results_document(db, run_id)
        raw = {(c["model"], c["dataset"]): c.get("details") for c in db.cells(run_id)}
        record = db.run(run_id) or {}
    finally:
        db.close()
    out_dir = Path(record["out_dir"]) if record.get("out_dir") else None
    return build_report(document, raw, out_dir)
