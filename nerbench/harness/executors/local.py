"""The local executor: each worker is a process on this machine (JSON lines over its pipes)."""

from __future__ import annotations

from nerbench.harness.executors import WorkerSpec
from nerbench.harness.worker_client import WorkerProcess


class LocalExecutor:
    """Worker processes on this machine; a model's ``num_cpus`` and ``num_gpus`` are Ray's and unused here."""

    name = "local"

    def start(self, spec: WorkerSpec) -> WorkerProcess:
        return WorkerProcess(spec.python)

    def close(self) -> None:
        return None
