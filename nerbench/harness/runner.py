"""Runs a suite's models over its datasets: one worker process per model, batches, timing, failures.

The run is a sequence of small stages: read the datasets, open (or resume) the
run record, then for each model and dataset one *cell*: reuse cached
predictions or predict the missing documents batch by batch (each batch is
committed to the store, so a killed run resumes where it stopped), time
single-document latency, read usage and memory, and score. A model that raises
on a document fails that document; a worker that crashes, hangs past its
timeout or is killed fails only that model's cells.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from nerbench.adapters.data import read_corpus
from nerbench.errors import ConfigError
from nerbench.harness.cell_result import FAILED, CellResult, Failures, TrainOverlap
from nerbench.harness.cells import CellInputs, cell_result, details, failure_cause, result_key, usage_cost
from nerbench.harness.estimate import estimate_suite
from nerbench.harness.label_plan import resolve_label_maps
from nerbench.harness.loading import LoadedDataset, content_hash, load_datasets
from nerbench.harness.machine import library_versions, machine_info, missing_modules
from nerbench.harness.results import stored_cells
from nerbench.harness.run_store import RunStore, redacted_progress
from nerbench.harness.rundir import check_out_dir, check_resumed_out_dir
from nerbench.harness.store import Store, StoredPrediction
from nerbench.harness.suite import ModelSpec, Suite
from nerbench.harness.worker_client import WorkerError, WorkerFailure, WorkerProcess
from nerbench.train_overlap import entity_keys, seen_in_train
from nerbench.types import Document

Progress = Callable[..., None]


def _no_progress(event: str, **data: Any) -> None:
    return None


@dataclass(frozen=True)
class RunOptions:
    """How to run a suite (the command line's flags)."""

    store: Path = Path(".nerbench/results.db")
    out_dir: Path | None = None
    limit: int | None = None
    resume: bool = False
    use_cache: bool = True
    max_cost_usd: float | None = None
    cache_dir: Path = Path(".nerbench/cache")


@dataclass
class RunContext:
    """What every stage of one run shares."""

    suite: Suite
    options: RunOptions
    store: Store
    run_id: str
    progress: Progress
    datasets: list[LoadedDataset] = field(default_factory=list)
    spent_usd: float = 0.0
    train_keys: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)  # per dataset's train split


@dataclass(frozen=True)
class RunOutcome:
    """What a run ran: its id, the suite as run (label maps resolved), the datasets read, and every cell.

    ``store`` is left open for the run directory writer; close it when done.
    """

    run_id: str
    suite: Suite
    datasets: tuple[LoadedDataset, ...]
    cells: tuple[CellResult, ...]
    store: Store

    @property
    def failed(self) -> list[CellResult]:
        """Cells that are not findings: failed, or a schema mismatch."""
        return [c for c in self.cells if c.status != "done"]


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def open_run(
    suite: Suite,
    options: RunOptions,
    store: Store,
    datasets: Sequence[LoadedDataset],
    *,
    skipped: Sequence[dict[str, str]] = (),
) -> str:
    """Resume the suite's unfinished run (``--resume``) or record a new one.

    A resumed run keeps its run directory: ``--out`` naming another one is refused. A new run's
    directory must be absent, empty, or an earlier run's (:func:`~nerbench.harness.rundir.check_out_dir`).
    """
    suite_path = str(suite.path.resolve())
    if options.resume:
        previous = store.unfinished_run(suite_path, suite.digest)
        if previous is not None:
            check_resumed_out_dir(previous, options.out_dir)
            return str(previous["id"])
    run_id = new_run_id()
    info = {
        "machine": machine_info(suite.path.parent),
        "versions": library_versions(),
        "settings": suite.settings.__dict__,
        "suite_text": suite.raw_text,
        "limit": options.limit,
        "skipped_models": list(skipped),  # if_installed models whose modules were missing
        "datasets": [_dataset_info(d) for d in datasets],
    }
    out_dir = str((options.out_dir or Path("runs") / run_id).resolve())  # found again from any working directory
    check_out_dir(Path(out_dir))
    store.create_run(run_id, suite=suite.name, suite_path=suite_path, digest=suite.digest, out_dir=out_dir, info=info)
    return run_id


def _dataset_info(d: LoadedDataset) -> dict[str, Any]:
    docs = d.documents
    labels = sorted({s.label for doc in docs for s in doc.spans})
    return {
        "name": d.spec.name,
        "path": str(d.spec.test.path),
        "documents": len(docs),
        "characters": sum(len(doc.text) for doc in docs),
        "entities": sum(len(doc.spans) for doc in docs),
        "labels": labels,
        "schema": dict(d.spec.schema),
        "repairs": d.corpus.repairs,
        "content_hash": d.gold_hash,
        "train": str(d.spec.train.path) if d.spec.train else None,
    }


def run_suite(
    suite: Suite,
    options: RunOptions,
    progress: Progress = _no_progress,
    *,
    datasets: Sequence[LoadedDataset] | None = None,
) -> RunOutcome:
    """Run every model over every dataset; returns what ran, with the store left open.

    Everything that can be checked is checked before any worker starts: the datasets are read (unless
    the caller read them already), every ``label_map: auto`` is resolved against their labels, and the
    budget is estimated.
    """
    if options.out_dir is not None and not options.resume:
        check_out_dir(options.out_dir)  # before reading anything: a directory it would not write stops it now
    progress = redacted_progress(progress)
    datasets = list(datasets) if datasets is not None else load_datasets(suite, options.limit)
    suite = resolve_label_maps(suite, datasets)
    if options.max_cost_usd is not None:
        estimate = sum(row["usd"] or 0.0 for row in estimate_suite(suite, limit=options.limit))
        if estimate > options.max_cost_usd:
            raise ConfigError(
                f"this suite is estimated to cost ${estimate:.2f}, over --max-cost ${options.max_cost_usd:g}: "
                "raise the budget, or run fewer models or documents (--models, --limit)"
            )
    models, skipped = [], []
    for model in suite.models:
        missing = missing_modules(model.if_installed, model.python)
        if missing:
            skipped.append({"model": model.name, "reason": f"not installed: {', '.join(missing)}"})
            progress("model_skipped", **skipped[-1])
        else:
            models.append(model)
    store = RunStore(options.store)
    try:
        run_id = open_run(suite, options, store, datasets, skipped=skipped)
    except BaseException:
        store.close()
        raise
    ctx = RunContext(suite, options, store, run_id, progress, datasets)
    progress("run_start", run_id=run_id, models=len(models), datasets=len(datasets))
    try:
        for model in models:
            run_model(ctx, model, datasets)
    except BaseException:
        try:
            store.finish_run(run_id, "interrupted")
        finally:
            store.close()
        raise
    store.finish_run(run_id, "done")
    return RunOutcome(run_id, suite, tuple(datasets), tuple(stored_cells(store, run_id)), store)


class ModelSession:
    """One model's worker, started on first need and loaded at most once."""

    def __init__(self, ctx: RunContext, model: ModelSpec) -> None:
        self.ctx, self.model = ctx, model
        self.worker: WorkerProcess | None = None
        self.info: dict[str, Any] = {}
        self.loaded = False
        self.fitted_on: str | None = None
        self.timeout = float(model.timeout_s or ctx.suite.settings.timeout_s)

    def started(self) -> WorkerProcess:
        """The worker, started and initialised (adapter constructed, fingerprint read) on first use."""
        if self.worker is None:
            self.worker = WorkerProcess(self.model.python)
            config = {
                "name": self.model.name,
                "adapter": self.model.adapter,
                "options": dict(self.model.options),
                "schema": dict(self.ctx.suite.schema),
                "cache_dir": str(self.ctx.options.cache_dir.resolve()),
            }
            self.info.update(self.worker.call("init", timeout=self.timeout, config=config))
            self.info["fingerprint"] = self.worker.call("fingerprint", timeout=self.timeout)["fingerprint"]
        return self.worker

    def call(self, op: str, **payload: Any) -> dict[str, Any]:
        return self.started().call(op, timeout=self.timeout, **payload)

    def send(self, op: str, **payload: Any) -> None:
        self.started().send(op, **payload)

    def receive(self, op: str) -> dict[str, Any]:
        return self.started().receive(timeout=self.timeout, op=op)

    def fingerprint(self) -> str:
        self.started()
        return str(self.info["fingerprint"])

    def ready_for(self, dataset: LoadedDataset) -> dict[str, float]:
        """Load once; fit on the dataset's train split when the family trains. Returns the times taken."""
        times: dict[str, float] = {}
        if not self.loaded:
            times["load_s"] = self.call("load")["seconds"]
            self.loaded = True
        if self.info.get("trains"):
            train_ds = self._train_dataset(dataset)
            if self.fitted_on != train_ds.spec.name:
                ref = train_ds.spec.train
                assert ref is not None
                payload = {"path": str(ref.path), "format": ref.format, "options": dict(ref.options)}
                times["fit_s"] = self.call("fit", train=payload)["seconds"]
                self.fitted_on = train_ds.spec.name
        self.info.update(self.call("info"))
        return times

    def _train_dataset(self, dataset: LoadedDataset) -> LoadedDataset:
        if self.model.train is None:
            if dataset.spec.train is None:
                raise WorkerError(
                    f"{self.model.adapter} trains on a train split, and dataset {dataset.spec.name!r} has none"
                )
            return dataset
        return next(d for d in self.ctx.datasets if d.spec.name == self.model.train)

    def close(self, *, wait: bool = True) -> None:
        """Stop the worker: ask it to shut down (``wait``), or kill its process group now."""
        if self.worker is not None:
            worker, self.worker = self.worker, None
            worker.close(wait=wait)

    def restart(self) -> None:
        self.close(wait=False)
        self.loaded, self.fitted_on = False, None
        self.info = {}


def cache_key(model: ModelSpec, fingerprint: str, dataset: LoadedDataset, trains: bool) -> str:
    """What a prediction set depends on: adapter, model, options, input documents (and train data)."""
    train = None
    if trains:
        train = dataset.train_hash if model.train is None else model.train
    return content_hash(model.adapter, fingerprint, dict(model.options), model.gold_tokens, dataset.content_hash, train)


def run_model(ctx: RunContext, model: ModelSpec, datasets: Sequence[LoadedDataset]) -> None:
    """Every cell of one model; a dead worker fails the cell it was serving, and the rest go on."""
    session = ModelSession(ctx, model)
    try:
        for dataset in datasets:
            if not model.runs_on(dataset.spec.name):
                continue
            if ctx.options.resume and ctx.store.cell_done(ctx.run_id, model.name, dataset.spec.name):
                continue
            if ctx.options.max_cost_usd is not None and ctx.spent_usd >= ctx.options.max_cost_usd:
                _fail_cell(ctx, model, dataset, f"not run: the budget of ${ctx.options.max_cost_usd:g} was spent")
                continue
            try:
                run_cell(ctx, session, model, dataset)
            except (WorkerFailure, WorkerError) as err:
                _fail_cell(ctx, model, dataset, str(err))
                session.restart()
    except BaseException:
        session.close(wait=False)  # interrupted, or the store failed: a busy worker is not waited for
        raise
    finally:
        session.close()


def _fail_cell(ctx: RunContext, model: ModelSpec, dataset: LoadedDataset, error: str) -> None:
    """A cell the model never produced: failed, with its reason, and no numbers."""
    n = len(dataset.documents)
    cause = failure_cause(error)
    reason = f"the model did not run{f' ({cause})' if cause else ''}: {error}"
    cell = CellResult(
        model=model.name, dataset=dataset.spec.name, status=FAILED, reason=reason, adapter=model.adapter,
        vocabulary=model.vocabulary or "", failures=Failures(n, n, error),
    )  # fmt: skip
    ctx.store.save_cell(ctx.run_id, model.name, dataset.spec.name, status=FAILED, cache_key=None, result=cell.to_json())
    ctx.progress("cell_failed", model=model.name, dataset=dataset.spec.name, error=reason)


def run_cell(ctx: RunContext, session: ModelSession, model: ModelSpec, dataset: LoadedDataset) -> None:
    """One model on one dataset: cached predictions, or predict, time and store; then score."""
    fingerprint = session.fingerprint()
    key = cache_key(model, fingerprint, dataset, bool(session.info.get("trains")))
    if not ctx.options.use_cache:
        # --no-cache predicts into a set of this run's own: another run reading or writing the cached set (two
        # runs share a store) is never disturbed, and later cached runs keep reusing that earlier set
        key = content_hash(key, "no-cache", ctx.run_id)
    existing = ctx.store.prediction_set(key)
    cached = existing is not None and existing["complete"]
    ctx.progress(
        "cell_start", model=model.name, dataset=dataset.spec.name, documents=len(dataset.documents), cached=cached
    )
    if not cached:
        ctx.store.start_prediction_set(
            key, adapter=model.adapter, fingerprint=fingerprint, dataset_hash=dataset.content_hash
        )
        perf = _predict_and_measure(ctx, session, model, dataset, key)
        ctx.store.complete_prediction_set(key, perf)
    else:
        perf = existing["perf"] if existing else {}
    trains = bool(session.info.get("trains") or perf.get("fit_s"))
    scoring_key = result_key(ctx.suite, ctx.datasets, model, dataset, key, trains=trains)
    reused = ctx.store.scoring(scoring_key) if cached else None
    if reused is not None:  # scored before from the same predictions, gold and settings: nothing to redo
        cell = CellResult.from_json({**reused, "model": model.name, "dataset": dataset.spec.name, "cached": True})
        ctx.store.save_cell(ctx.run_id, model.name, dataset.spec.name, status=cell.status, cache_key=key,
                            result=cell.to_json(), result_key=scoring_key)  # fmt: skip
        ctx.progress("cell_done", model=model.name, dataset=dataset.spec.name, cell=cell)
        return
    split, keys = _train_split(ctx, model, dataset, trains)
    overlap = None
    if trains and keys is not None:
        overlap = TrainOverlap(split, *seen_in_train(dataset.documents, keys))
    inputs = CellInputs(model, dataset, key, perf, cached, overlap, keys, split)
    cell, result = cell_result(ctx.store, ctx.suite, inputs)
    if not cached and cell.cost is not None and cell.cost.basis != "compute":
        ctx.spent_usd += cell.cost.spent_usd
    ctx.store.save_cell(ctx.run_id, model.name, dataset.spec.name, status=cell.status, cache_key=key,
                        result=cell.to_json(), result_key=scoring_key, details=details(result))  # fmt: skip
    ctx.progress("cell_done", model=model.name, dataset=dataset.spec.name, cell=cell)


def _train_split(
    ctx: RunContext, model: ModelSpec, dataset: LoadedDataset, trains: bool
) -> tuple[str, frozenset[tuple[str, str]] | None]:
    """The train split "seen" refers to, and its entities: the one a model that trains learned from, else the
    dataset's own; none where there is no such split."""
    split = (model.train or dataset.spec.name) if trains else dataset.spec.name
    spec = next((d.spec for d in ctx.datasets if d.spec.name == split), None)
    if spec is None or spec.train is None:
        return split, None
    if split not in ctx.train_keys:
        ref = spec.train
        ctx.train_keys[split] = entity_keys(read_corpus(ref.path, format=ref.format, **ref.options).documents)
    return split, ctx.train_keys[split]


def _inputs(model: ModelSpec, docs: Sequence[Document]) -> list[dict[str, Any]]:
    """The worker's view of documents: text, and gold tokens only when the suite asks (never gold spans)."""
    return [{"id": d.id, "text": d.text, "tokens": d.tokens if model.gold_tokens else None} for d in docs]


def _predict_and_measure(
    ctx: RunContext, session: ModelSession, model: ModelSpec, dataset: LoadedDataset, key: str
) -> dict[str, Any]:
    times = session.ready_for(dataset)
    before = session.call("usage")["usage"]
    started = time.perf_counter()
    _predict_missing(ctx, session, model, dataset, key, before)
    times["throughput_wall_s"] = time.perf_counter() - started  # runner side: pipe, JSON and store included
    after = session.call("usage")["usage"]
    latency = _latency_samples(ctx, session, model, dataset)
    stability = _stability(ctx, session, model, dataset, key)
    memory = session.call("memory")
    described = session.call("info").get("describe")  # after predicting: what the model settled on (e.g. a format)
    return {
        **times,
        "latency_ms": latency,
        "usage": _usage_since(before, after),
        "probe_usage": _usage_since(after, session.call("usage")["usage"]),  # latency samples, stability passes
        "memory": {"peak_rss_mb": memory["peak_rss_mb"], "peak_gpu_mb": memory["peak_gpu_mb"]},
        "stability": stability,
        "batch_size": ctx.suite.settings.batch_size,
        "family": session.info.get("family"),
        "kind": session.info.get("kind") or None,  # the adapter's own: rules, zero-shot, ...
        "notice": session.info.get("notice") or None,
        "labels": session.info.get("labels"),
        "describe": described,
        "fingerprint": session.info.get("fingerprint"),
    }


def _usage_since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """This cell's share of a worker's cumulative usage (one worker serves several datasets)."""
    delta: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, int | float):
            delta[key] = value - before.get(key, 0)
        elif isinstance(value, list):
            delta[key] = value[len(before.get(key) or []) :]
        else:
            delta[key] = value
    return delta


def _predict_missing(
    ctx: RunContext, session: ModelSession, model: ModelSpec, dataset: LoadedDataset, key: str, usage0: dict[str, Any]
) -> None:
    """Predict, in batches, every document the store does not hold yet; commit each batch.

    The next batch is sent before the last reply is stored, so the worker never waits
    for the store (one batch in flight: replies come back in order). Under a budget
    (``--max-cost``) batches go one at a time and sending stops once billed cost reaches it.
    """
    done = ctx.store.predictions(key)
    todo = [(i, d) for i, d in enumerate(dataset.documents) if d.id not in done]
    size = ctx.suite.settings.batch_size
    ctx.progress("batch", model=model.name, dataset=dataset.spec.name, advance=len(dataset.documents) - len(todo))
    batches = [todo[first : first + size] for first in range(0, len(todo), size)]
    ahead = 0 if ctx.options.max_cost_usd is not None else 1
    for n, batch in enumerate(batches):
        for upcoming in batches[n if n == 0 else n + ahead : n + ahead + 1]:
            session.send("predict", inputs=_inputs(model, [d for _, d in upcoming]))
        reply = session.receive("predict")
        stored = [
            StoredPrediction(doc.id, position, out.get("spans", []), out.get("error"))
            for (position, doc), out in zip(batch, reply["results"], strict=True)
        ]
        chars = sum(len(d.text) for _, d in batch)
        ctx.store.add_batch(key, batch[0][0], stored, characters=chars, seconds=reply["seconds"])
        ctx.progress("batch", model=model.name, dataset=dataset.spec.name, advance=len(batch))
        if ctx.options.max_cost_usd is not None and n + 1 < len(batches):
            _check_budget(ctx, session, model, usage0, sent=sum(len(b) for b in batches[: n + 1]))


def _check_budget(ctx: RunContext, session: ModelSession, model: ModelSpec, usage0: dict[str, Any], sent: int) -> None:
    usage = _usage_since(usage0, session.call("usage")["usage"])
    cost = usage_cost(ctx.suite, model, usage, {}, seconds=0.0, docs=sent, chars=0)
    if cost.basis != "compute" and ctx.spent_usd + cost.usd >= (ctx.options.max_cost_usd or 0.0):
        ctx.spent_usd += cost.usd
        raise WorkerError(
            f"stopped after {sent} documents: billed cost reached --max-cost ${ctx.options.max_cost_usd:g} "
            "(run again with a larger budget to send the rest)"
        )


def _latency_samples(ctx: RunContext, session: ModelSession, model: ModelSpec, dataset: LoadedDataset) -> list[float]:
    """Single-document call times (ms) on a seeded sample, after warm-up calls."""
    settings = ctx.suite.settings
    docs = dataset.documents
    if not docs or settings.latency_samples == 0:
        return []
    rng = np.random.default_rng(settings.seed)
    picks = rng.choice(len(docs), size=settings.latency_samples, replace=len(docs) < settings.latency_samples)
    for i in picks[: settings.warmup]:
        session.call("predict", inputs=_inputs(model, [docs[int(i)]]))
    return [float(session.call("predict", inputs=_inputs(model, [docs[int(i)]]))["seconds"]) * 1000 for i in picks]


def _stability(
    ctx: RunContext, session: ModelSession, model: ModelSpec, dataset: LoadedDataset, key: str
) -> dict[str, Any] | None:
    """With ``stability_passes >= 2``: the share of documents whose spans changed between passes."""
    passes = ctx.suite.settings.stability_passes
    if passes < 2:
        return None
    first = ctx.store.predictions(key)
    docs = dataset.documents
    changed: set[str] = set()
    size = ctx.suite.settings.batch_size
    for _ in range(passes - 1):
        for start in range(0, len(docs), size):
            batch = docs[start : start + size]
            reply = session.call("predict", inputs=_inputs(model, batch))
            for doc, out in zip(batch, reply["results"], strict=True):
                if out.get("spans", []) != first[doc.id].spans or out.get("error") != first[doc.id].error:
                    changed.add(doc.id)
    return {"passes": passes, "changed_docs": len(changed), "changed_share": len(changed) / len(docs) if docs else None}
