"""Runs a suite's models over its datasets: workers, batches, timing, failures.

The run is a sequence of small stages: read the datasets, open (or resume) the
run record, then for each model and dataset one *cell*: reuse cached
predictions or predict the missing documents batch by batch (each batch is
committed to the store, so a killed run resumes where it stopped), time
single-document latency, read usage and memory, and score. A model that raises
on a document fails that document; a worker that hangs past its timeout fails
only that model's cell, and one that dies has its batches sent to a new worker
(a batch that kills two fails the cell).

Up to ``--jobs`` models run at once, each in its own thread with its own store
connection (the driver alone writes the store); a model's cells run in order,
its ``replicas`` sharing each throughput pass (:mod:`~nerbench.harness.pool`).
Workers are started by the executor (:mod:`~nerbench.harness.executors`): local
processes, or Ray actors. The calling thread only waits, so a signal stops the
run at once: every worker is killed and the run is marked interrupted.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from nerbench.adapters.data import read_corpus
from nerbench.errors import ConfigError
from nerbench.harness.cell_result import FAILED, CellResult, Failures, TrainOverlap
from nerbench.harness.cell_scoring import instance_rows
from nerbench.harness.cells import CellInputs, cell_result, failure_cause, result_key, usage_cost
from nerbench.harness.estimate import estimate_suite
from nerbench.harness.executors import Executor, open_executor
from nerbench.harness.label_plan import resolve_label_maps
from nerbench.harness.loading import LoadedDataset, content_hash, load_datasets
from nerbench.harness.machine import library_versions, machine_info, missing_modules
from nerbench.harness.pool import Batch, PassResult, ThroughputPass, usage_since
from nerbench.harness.results import stored_cells
from nerbench.harness.run_store import RunStore, redacted_progress
from nerbench.harness.rundir import check_out_dir, check_resumed_out_dir, write_cell_files
from nerbench.harness.session import ModelSession, RunShared, SessionConfig, Stopped
from nerbench.harness.store import Store, StoredPrediction
from nerbench.harness.suite import ModelSpec, Suite
from nerbench.harness.worker_client import WorkerError, WorkerFailure
from nerbench.scoring import Score
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
    jobs: int = 1  # models run at once
    executor: str = "local"  # where workers run: local processes, or Ray actors ("ray")
    address: str | None = None  # the Ray cluster (None: a Ray instance started for the run)


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
    shared: RunShared = field(default_factory=RunShared)  # what the models running at once share
    executor: Executor | None = None  # starts the workers (None: local processes)
    out_dir: Path | None = None  # where each finished cell's files go at once (None: all at the end)
    written: dict[Path, str] = field(default_factory=dict)  # the files written there so far, with their sha256


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
    written: Mapping[Path, str] = field(default_factory=dict)  # cells' files written as they finished: sha256

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
    return {
        "name": d.spec.name,
        "path": str(d.spec.test.path),
        "documents": len(d.documents),
        "characters": d.characters,
        "entities": d.entities,
        "labels": sorted(d.gold_labels),
        "schema": dict(d.spec.schema),
        "repairs": d.repairs,
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
    progress = _serialised(redacted_progress(progress))
    datasets = list(datasets) if datasets is not None else load_datasets(suite, options.limit)
    suite = resolve_label_maps(suite, datasets)
    if options.max_cost_usd is not None:
        estimate = sum(row["usd"] or 0.0 for row in estimate_suite(suite, limit=options.limit, datasets=datasets))
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
    executor = open_executor(options.executor, options.address)  # a Ray cluster it cannot reach stops it now
    try:
        store = RunStore(options.store)
        try:
            run_id = open_run(suite, options, store, datasets, skipped=skipped)
        except BaseException:
            store.close()
            raise
        out_dir = Path((store.run(run_id) or {}).get("out_dir") or Path("runs") / run_id)
        ctx = RunContext(suite, options, store, run_id, progress, datasets, executor=executor, out_dir=out_dir)
        progress("run_start", run_id=run_id, models=len(models), datasets=len(datasets))
        try:
            run_models(ctx, models, datasets)
        except BaseException:
            try:
                store.finish_run(run_id, "interrupted")
            finally:
                store.close()
            raise
    finally:
        executor.close()
    store.finish_run(run_id, "done")
    return RunOutcome(run_id, suite, tuple(datasets), tuple(stored_cells(store, run_id)), store, dict(ctx.written))


def _serialised(progress: Progress) -> Progress:
    """Progress events from the threads of models running at once, one at a time."""
    lock = threading.Lock()

    def send(event: str, **data: Any) -> None:
        with lock:
            progress(event, **data)

    return send


WAIT_S = 0.2  # how often the waiting thread wakes (a signal is handled at once regardless)
STOP_GRACE_S = 0.5  # how long a stopping run waits for its model threads to unwind


def run_models(ctx: RunContext, models: Sequence[ModelSpec], datasets: Sequence[LoadedDataset]) -> None:
    """Every model's cells, up to ``--jobs`` models at once, each in its own thread with its own store
    connection; this thread waits. A failure there (the store) or here (a signal) stops every model."""
    waiting = deque(models)
    errors: list[BaseException] = []

    def work() -> None:
        while not ctx.shared.stopping.is_set():
            try:
                model = waiting.popleft()
            except IndexError:
                return
            try:
                own = replace(ctx, store=RunStore(ctx.options.store), spent_usd=0.0)
            except BaseException as err:
                errors.append(err)
                ctx.shared.stop()
                return
            try:
                run_model(own, model, datasets)
            except Stopped:
                return
            except BaseException as err:
                errors.append(err)
                ctx.shared.stop()
                return
            finally:
                own.store.close()

    threads = [threading.Thread(target=work, name=f"nerbench-model-{i + 1}", daemon=True)
               for i in range(max(1, min(ctx.options.jobs, len(models))))]  # fmt: skip
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(WAIT_S)
    except BaseException:
        ctx.shared.stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        raise
    if errors:
        raise errors[0]


def cache_key(model: ModelSpec, fingerprint: str, dataset: LoadedDataset, trains: bool) -> str:
    """What a prediction set depends on: adapter, model, options, input documents (and train data)."""
    train = None
    if trains:
        train = dataset.train_hash if model.train is None else model.train
    return content_hash(model.adapter, fingerprint, dict(model.options), model.gold_tokens, dataset.content_hash, train)


def run_model(ctx: RunContext, model: ModelSpec, datasets: Sequence[LoadedDataset]) -> None:
    """Every cell of one model; a worker that fails for good fails the cell it was serving, and the rest go on."""
    session = ModelSession(_session_config(ctx), model)
    try:
        for dataset in datasets:
            ctx.shared.check()
            if not model.runs_on(dataset.spec.name):
                continue
            if ctx.options.resume and ctx.store.cell_done(ctx.run_id, model.name, dataset.spec.name):
                continue
            if ctx.options.max_cost_usd is not None and _spent(ctx) >= ctx.options.max_cost_usd:
                _fail_cell(ctx, model, dataset, f"not run: the budget of ${ctx.options.max_cost_usd:g} was spent")
                continue
            try:
                run_cell(ctx, session, model, dataset)
            except (WorkerFailure, WorkerError) as err:
                ctx.shared.check()  # killed because the run is stopping: nothing to record
                _fail_cell(ctx, model, dataset, str(err))
                session.restart()
            finally:
                ctx.shared.pending.pop(model.name, None)
                ctx.shared.spent[model.name] = ctx.spent_usd
    except BaseException:
        session.close(wait=False)  # interrupted, or the store failed: a busy worker is not waited for
        raise
    finally:
        session.close()
        session.release()


def _session_config(ctx: RunContext) -> SessionConfig:
    from nerbench.harness.executors.local import LocalExecutor

    return SessionConfig(
        executor=ctx.executor or LocalExecutor(), schema=dict(ctx.suite.schema),
        cache_dir=str(ctx.options.cache_dir.resolve()), timeout=float(ctx.suite.settings.timeout_s),
        datasets=tuple(ctx.datasets), shared=ctx.shared,
    )  # fmt: skip


def _spent(ctx: RunContext) -> float:
    """What the whole run has spent (models running at once included), for ``--max-cost``."""
    return sum(ctx.shared.spent.values()) + sum(ctx.shared.pending.values())


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
    perf: dict[str, Any] = existing["perf"] if existing is not None and cached else {}

    def scored_as(perf: Mapping[str, Any]) -> tuple[bool, str]:
        trains = bool(session.info.get("trains") or perf.get("fit_s"))
        return trains, result_key(ctx.suite, ctx.datasets, model, dataset, key, trains=trains)

    trains, scoring_key = scored_as(perf)
    reused = ctx.store.scoring(scoring_key) if cached else None
    # a cell that did not run is no cache: its failed documents are sent again (the stored scoring says so;
    # counting the set's errors, a pass over every prediction, only where there is no scoring to reuse)
    if cached and (reused.get("status") == FAILED if reused is not None else _did_not_run(ctx, key)):
        ctx.store.reopen_failed(key)
        cached, reused = False, None
    ctx.progress(
        "cell_start", model=model.name, dataset=dataset.spec.name, documents=len(dataset.documents), cached=cached
    )
    if not cached:
        ctx.store.start_prediction_set(
            key, adapter=model.adapter, fingerprint=fingerprint, dataset_hash=dataset.content_hash
        )
        perf = _predict_and_measure(ctx, session, model, dataset, key)
        ctx.store.complete_prediction_set(key, perf)
        trains, scoring_key = scored_as(perf)
    if reused is not None:  # scored before from the same predictions, gold and settings: nothing to redo
        cell = CellResult.from_json({**reused, "model": model.name, "dataset": dataset.spec.name, "cached": True})
        shared = ctx.store.save_cell(ctx.run_id, model.name, dataset.spec.name, status=cell.status,
                                     cache_key=key, result=cell.to_json(), result_key=scoring_key)  # fmt: skip
        _cell_files(ctx, model, dataset, key, shared)
        ctx.progress("cell_done", model=model.name, dataset=dataset.spec.name, cell=cell)
        return
    split, keys = _train_split(ctx, model, dataset, trains)
    overlap = None
    if trains and keys is not None:
        overlap = TrainOverlap(split, *seen_in_train(dataset.documents, keys))
    inputs = CellInputs(model, dataset, key, perf, cached, overlap, keys, split)
    scoring_id = ctx.store.begin_scoring(f"{ctx.run_id}/{model.name}/{dataset.spec.name}")

    def write_details(position: int, seq: int, result: Score) -> None:
        ctx.store.add_details(scoring_id, position, seq, result.doc_ids, result.per_doc, instance_rows(result))

    try:
        cell = cell_result(ctx.store, ctx.suite, inputs, write_details=write_details)
    except (WorkerFailure, WorkerError):
        ctx.store.drop_scoring(scoring_id)
        raise
    if not cached and cell.cost is not None and cell.cost.basis != "compute":
        ctx.spent_usd += cell.cost.spent_usd
    scoring_id = ctx.store.finish_scoring(scoring_id, scoring_key, cell.to_json())
    ctx.store.save_cell(ctx.run_id, model.name, dataset.spec.name, status=cell.status, cache_key=key,
                        result=cell.to_json(), result_key=scoring_key, scoring_id=scoring_id)  # fmt: skip
    _cell_files(ctx, model, dataset, key, scoring_id)
    ctx.progress("cell_done", model=model.name, dataset=dataset.spec.name, cell=cell)


def _did_not_run(ctx: RunContext, key: str) -> bool:
    """Whether a stored prediction set's failures made its cell ``failed`` (every document, or more than
    ``max_failed_share``): a fixed endpoint or key then gets its chance. A few failed documents in a cell
    that ran stay as they are (``--no-cache`` sends them again)."""
    failed, documents = ctx.store.failed_share(key)
    return failed > 0 and (failed == documents or failed / documents > ctx.suite.settings.max_failed_share)


def _cell_files(ctx: RunContext, model: ModelSpec, dataset: LoadedDataset, key: str, scoring_id: int | None) -> None:
    """A finished cell's files in the run directory now, while other models still predict (not at the end)."""
    if ctx.out_dir is not None:
        paths = write_cell_files(ctx.store, ctx.out_dir, ctx.run_id, model, dataset, key, scoring_id)
        ctx.written.update(paths)


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
    started = time.perf_counter()
    passed = _predict_missing(ctx, session, model, dataset, key)
    times["throughput_wall_s"] = time.perf_counter() - started  # runner side: pipe, JSON and store included
    ctx.shared.pending.pop(model.name, None)
    latency = _latency_samples(ctx, session, model, dataset)  # on the primary alone: as with one replica
    stability = _stability(ctx, session, model, dataset, key)
    memory = session.memory()
    described = session.call("info").get("describe")  # after predicting: what the model settled on (e.g. a format)
    return {
        **times,
        "latency_ms": latency,
        "usage": passed.usage,
        "probe_usage": usage_since(passed.primary_usage, session.call("usage")["usage"]),  # latency, stability
        "memory": memory,
        "replicas": passed.replicas,
        "stability": stability,
        "batch_size": ctx.suite.settings.batch_size,
        "family": session.info.get("family"),
        "kind": session.info.get("kind") or None,  # the adapter's own: rules, zero-shot, ...
        "notice": session.info.get("notice") or None,
        "labels": session.info.get("labels"),
        "describe": described,
        "fingerprint": session.info.get("fingerprint"),
        "predicted_at": time.time(),  # when its last request was answered (the benchmark's "after the last prediction")
    }


def _predict_missing(
    ctx: RunContext, session: ModelSession, model: ModelSpec, dataset: LoadedDataset, key: str
) -> PassResult:
    """Predict, in batches over the model's replicas, every document the store does not hold yet; commit
    each batch as its reply comes (in any order: a reply carries its batch, each result its document's id).

    Under a budget (``--max-cost``) one batch is in flight at a time and sending stops once billed cost
    reaches it.
    """
    done = ctx.store.predicted_ids(key)
    n = len(dataset.documents)
    left = n - len(done)
    size = ctx.suite.settings.batch_size
    ctx.progress("batch", model=model.name, dataset=dataset.spec.name, advance=n - left)

    def commit(batch: Batch, reply: dict[str, Any]) -> None:
        stored = []
        for (position, doc), out in zip(batch.items, reply["results"], strict=True):
            if out.get("id", doc.id) != doc.id:
                raise WorkerFailure(f"the worker answered for document {out['id']!r} in place of {doc.id!r}")
            stored.append(StoredPrediction(doc.id, position, out.get("spans", []), out.get("error")))
        chars = sum(len(d.text) for d in batch.documents)
        ctx.store.add_batch(key, batch.items[0][0], stored, characters=chars, seconds=reply["seconds"])
        ctx.progress("batch", model=model.name, dataset=dataset.spec.name, advance=len(batch.items))

    def budget(usage: dict[str, Any], sent: int) -> None:
        _check_budget(ctx, model, usage, sent)

    todo = ((i, d) for i, d in enumerate(dataset.documents) if d.id not in done)  # read as batches are sent
    batches = (Batch(list(items)) for items in iter(lambda: list(islice(todo, size)), []))
    return ThroughputPass(
        session, dataset, batches, count=-(-left // size), inputs=lambda docs: _inputs(model, docs),
        on_reply=commit, on_usage=budget if ctx.options.max_cost_usd is not None else None,
    ).run()  # fmt: skip


def _check_budget(ctx: RunContext, model: ModelSpec, usage: dict[str, Any], sent: int) -> None:
    """Stop sending once what the run has billed reaches ``--max-cost`` (this pass's usage counted)."""
    cost = usage_cost(ctx.suite, model, usage, {}, seconds=0.0, docs=sent, chars=0)
    if cost.basis == "compute":
        return
    ctx.shared.pending[model.name] = cost.usd
    if _spent(ctx) >= (ctx.options.max_cost_usd or 0.0):
        ctx.spent_usd += cost.usd
        ctx.shared.pending.pop(model.name, None)
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
    docs = dataset.documents
    changed: set[str] = set()
    size = ctx.suite.settings.batch_size
    for _ in range(passes - 1):
        every = iter(docs)
        while batch := list(islice(every, size)):
            reply = session.call("predict", inputs=_inputs(model, batch))
            first = ctx.store.predictions_of(key, (d.id for d in batch))  # the first pass's, a batch at a time
            for doc, out, was in zip(batch, reply["results"], first, strict=True):
                if was is None or out.get("spans", []) != was.spans or out.get("error") != was.error:
                    changed.add(doc.id)
    return {"passes": passes, "changed_docs": len(changed), "changed_share": len(changed) / len(docs) if docs else None}
