"""One model's workers during a run: its replicas, each started on first need and loaded at most once.

A :class:`ModelSession` holds ``replicas`` workers of one model (one by default), started by the run's
executor. The first, the *primary*, answers every request but the throughput pass's: load and fit
times, info, latency samples, stability passes and usage are its own, so they compare with a
single-worker run; the others join it for the throughput pass only (:mod:`~nerbench.harness.pool`).
Memory is the largest peak over the replicas (one worker's, as with one replica).

Sessions of models running at once share a :class:`RunShared`: once the run stops (a signal, a failed
store) no worker is started any more, and :meth:`RunShared.stop` kills every worker from any thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from nerbench.harness.executors import Executor, WorkerHandle, WorkerSpec
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.suite import ModelSpec
from nerbench.harness.worker_client import WorkerError


class Stopped(BaseException):
    """The run is stopping (interrupted, or another model's thread failed): unwind, record nothing."""


@dataclass
class RunShared:
    """What the models running at once share: the stop flag, every live session, what each has spent.

    Each model's thread writes only its own entries of ``spent`` and ``pending``.
    """

    stopping: threading.Event = field(default_factory=threading.Event)
    sessions: list[ModelSession] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    spent: dict[str, float] = field(default_factory=dict)  # model -> billed dollars of its finished cells
    pending: dict[str, float] = field(default_factory=dict)  # model -> billed dollars of the pass under way

    def stop(self) -> None:
        """Start no worker any more and kill every worker now (from any thread)."""
        with self.lock:
            self.stopping.set()
            sessions = list(self.sessions)
        for session in sessions:
            session.kill()

    def check(self) -> None:
        if self.stopping.is_set():
            raise Stopped()


@dataclass(frozen=True)
class SessionConfig:
    """What a session needs from the run: the executor, the schema and cache directory its workers get."""

    executor: Executor
    schema: dict[str, str]
    cache_dir: str
    timeout: float
    datasets: tuple[LoadedDataset, ...]
    shared: RunShared


class Replica:
    """One worker of a model and what it has done: started, loaded, fitted on which train split."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.handle: WorkerHandle | None = None
        self.loaded = False
        self.fitted_on: str | None = None


class ModelSession:
    """One model's workers (``model.replicas`` of them), started on first need and loaded at most once."""

    def __init__(self, config: SessionConfig, model: ModelSpec) -> None:
        self.config, self.model = config, model
        self.timeout = float(model.timeout_s or config.timeout)
        self.info: dict[str, Any] = {}
        self.replicas = [Replica(i) for i in range(model.replicas)]
        self._lock = threading.Lock()
        with config.shared.lock:
            config.shared.sessions.append(self)

    @property
    def primary(self) -> Replica:
        return self.replicas[0]

    def started(self, replica: Replica | None = None) -> WorkerHandle:
        """A replica's worker (the primary's by default), started and initialised on first use."""
        replica = replica or self.primary
        if replica.handle is None:
            spec = WorkerSpec(self.model.name, self.model.python, self.model.num_cpus, self.model.num_gpus)
            handle = self._adopt(replica, self.config.executor.start(spec))
            config = {
                "name": self.model.name, "adapter": self.model.adapter, "options": dict(self.model.options),
                "schema": dict(self.config.schema), "cache_dir": self.config.cache_dir,
            }  # fmt: skip
            info = handle.call("init", timeout=self.timeout, config=config)
            fingerprint = handle.call("fingerprint", timeout=self.timeout)["fingerprint"]
            if replica is self.primary:
                self.info.update(info, fingerprint=fingerprint)
            elif fingerprint != self.fingerprint():
                raise WorkerError(f"replica {replica.index + 1} of {self.model.name!r} has another fingerprint")
            return handle
        return replica.handle

    def _adopt(self, replica: Replica, handle: WorkerHandle) -> WorkerHandle:
        """Keep ``handle`` as the replica's worker, unless the run is stopping: then it is killed at once."""
        with self.config.shared.lock:
            stopping = self.config.shared.stopping.is_set()
            if not stopping:
                with self._lock:
                    replica.handle = handle
        if stopping:
            handle.close(wait=False)
            raise Stopped()
        return handle

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
        """The primary loaded once and fitted on the dataset's train split when the family trains; the times."""
        times = self.ready(self.primary, dataset)
        self.info.update(self.call("info"))
        return times

    def ready(self, replica: Replica, dataset: LoadedDataset) -> dict[str, float]:
        """``replica`` started, loaded once, fitted on the train split ``dataset`` calls for; the times taken."""
        handle = self.started(replica)
        times: dict[str, float] = {}
        if not replica.loaded:
            times["load_s"] = handle.call("load", timeout=self.timeout)["seconds"]
            replica.loaded = True
        if self.info.get("trains"):
            train_ds = self._train_dataset(dataset)
            if replica.fitted_on != train_ds.spec.name:
                ref = train_ds.spec.train
                assert ref is not None
                payload = {"path": str(ref.path), "format": ref.format, "options": dict(ref.options)}
                times["fit_s"] = handle.call("fit", timeout=self.timeout, train=payload)["seconds"]
                replica.fitted_on = train_ds.spec.name
        return times

    def _train_dataset(self, dataset: LoadedDataset) -> LoadedDataset:
        if self.model.train is None:
            if dataset.spec.train is None:
                raise WorkerError(
                    f"{self.model.adapter} trains on a train split, and dataset {dataset.spec.name!r} has none"
                )
            return dataset
        return next(d for d in self.config.datasets if d.spec.name == self.model.train)

    def replace(self, replica: Replica) -> Replica:
        """A new replica in ``replica``'s place (its worker died): killed, forgotten, started afresh on use."""
        self._drop(replica, wait=False)
        fresh = Replica(replica.index)
        with self._lock:
            self.replicas[replica.index] = fresh
        return fresh

    def memory(self) -> dict[str, float | None]:
        """Peak RSS and GPU memory: the largest over the started replicas (one worker's peak)."""
        peaks = [r.handle.call("memory", timeout=self.timeout) for r in self.replicas if r.handle is not None]
        return {key: _largest([p.get(key) for p in peaks]) for key in ("peak_rss_mb", "peak_gpu_mb")}

    def usage(self, replica: Replica) -> dict[str, Any]:
        return dict(self.started(replica).call("usage", timeout=self.timeout)["usage"])

    def kill(self) -> None:
        """Kill every worker now; safe from any thread (the threads using them see them gone)."""
        with self._lock:
            handles = [r.handle for r in self.replicas if r.handle is not None]
        for handle in handles:
            handle.kill()

    def close(self, *, wait: bool = True) -> None:
        """Stop every worker: ask it to shut down (``wait``), or kill it now."""
        for replica in list(self.replicas):
            self._drop(replica, wait=wait)

    def _drop(self, replica: Replica, *, wait: bool) -> None:
        with self._lock:
            handle, replica.handle = replica.handle, None
        if handle is not None:
            handle.close(wait=wait)

    def restart(self) -> None:
        """Every worker killed; the next request starts the model afresh."""
        self.close(wait=False)
        with self._lock:
            self.replicas = [Replica(i) for i in range(self.model.replicas)]
        self.info = {}

    def release(self) -> None:
        """Leave the run's list of live sessions (after :meth:`close`)."""
        with self.config.shared.lock:
            if self in self.config.shared.sessions:
                self.config.shared.sessions.remove(self)


def _largest(values: list[Any]) -> float | None:
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    return max(numbers) if numbers else None
