"""Where model workers run: the one small interface the runner talks to, and the executors behind it.

An :class:`Executor` starts workers; a :class:`WorkerHandle` is one started worker, speaking the
worker protocol's requests (``init``, ``fingerprint``, ``load``, ``fit``, ``info``, ``predict``,
``usage``, ``memory``, ``shutdown``; see :mod:`nerbench.harness.worker`) and answering with the
same replies whatever runs it:

- ``local`` (:mod:`~nerbench.harness.executors.local`): a worker process on this machine, JSON
  lines over its pipes (:class:`~nerbench.harness.worker_client.WorkerProcess`);
- ``ray`` (:mod:`~nerbench.harness.executors.ray`): a Ray actor running the same request handler
  (:meth:`nerbench.harness.worker.Worker.handle`), on a local or remote cluster.

The runner alone decides what runs when (``--jobs``, a model's ``replicas``), pairs every reply
with its request, and writes the store. Failures are the worker client's: ``WorkerDied`` (the
worker is gone: its batches may be sent again), ``WorkerFailure`` (timed out), ``WorkerError``
(the request failed).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Protocol

from nerbench.errors import ConfigError, MissingExtraError

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs from its model's suite entry: an interpreter and, on Ray, its resources."""

    model: str
    python: str | None = None
    num_cpus: float | None = None
    num_gpus: float | None = None


class WorkerHandle(Protocol):
    """One started worker. ``call``, ``send``, ``receive`` and ``close`` belong to the one thread that
    talks to it; ``kill`` may come from any thread (that thread then sees the worker gone)."""

    def call(self, op: str, *, timeout: float, **payload: Any) -> dict[str, Any]:
        """Send one request and return its reply."""
        ...

    def send(self, op: str, **payload: Any) -> None:
        """Queue one request; its reply comes from :meth:`receive`, in the order sent."""
        ...

    def receive(self, *, timeout: float, op: str = "request") -> dict[str, Any]:
        """The reply to the oldest request not yet received."""
        ...

    def kill(self) -> None:
        """Stop the worker now (from any thread)."""
        ...

    def close(self, *, wait: bool = True) -> None:
        """Ask the worker to shut down (``wait``) or kill it now; release what it holds."""
        ...


class Executor(Protocol):
    """Starts workers; ``close`` releases what the executor itself holds (a Ray connection)."""

    name: str

    def start(self, spec: WorkerSpec) -> WorkerHandle:
        """A new worker for ``spec``'s model, not yet initialised (the runner sends ``init``)."""
        ...

    def close(self) -> None: ...


def check_executor(name: str, address: str | None) -> None:
    """Refuse an unknown executor, an address without Ray, or Ray without its extra: before anything runs."""
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
    if address is not None and name != "ray":
        raise ConfigError("--address names a Ray cluster: use it with --executor ray")
    if name == "ray" and importlib.util.find_spec("ray") is None:  # not imported here: see executors.ray
        raise MissingExtraError("ray", "ray")


def open_executor(name: str, address: str | None = None) -> Executor:
    """The executor called ``name``, ready to start workers (for Ray: connected to its cluster)."""
    check_executor(name, address)
    if name == "ray":
        from nerbench.harness.executors.ray import RayExecutor

        return RayExecutor(address)
    from nerbench.harness.executors.local import LocalExecutor

    return LocalExecutor()
