"""The Ray executor: each model worker is a Ray actor running the worker's own request handler.

``nerbench run SUITE --executor ray`` starts a Ray instance for the run on this machine (on loopback
only, with token authentication and a token made for the run, so nothing is written to
``~/.ray``); ``--address auto`` joins the cluster ``ray start`` runs here, ``--address HOST:PORT`` or
``ray://HOST:10001`` a remote one (its token from ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
``~/.ray/auth_token``, as Ray reads it).

An actor answers each request with the very line a worker process writes to its pipe
(:func:`nerbench.harness.worker._encode`), so both executors give the runner the same replies. A
model entry's ``num_cpus`` and ``num_gpus`` (fractions allowed) are the actor's resources (default one
CPU); its ``python:`` becomes ``runtime_env={"py_executable": ...}`` (that interpreter needs nerbench and
the same Ray). Replies are paired with requests by their object references, never by arrival order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from nerbench.errors import ConfigError, MissingExtraError
from nerbench.harness.executors import WorkerSpec
from nerbench.harness.worker import Worker, _encode
from nerbench.harness.worker_client import WorkerDied, WorkerError, WorkerFailure

# Ray is imported only once the executor has set the environment a new local instance needs (Ray reads
# some of it at import), and an actor imports this module without importing Ray again.
_AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
# Ray binds a single-machine instance to loopback when it is told not to act as a cluster node.
_LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


class RequestHandler:
    """The actor: one :class:`~nerbench.harness.worker.Worker`, replying with the worker protocol's line."""

    def __init__(self) -> None:
        self.worker = Worker()

    def handle(self, request: dict[str, Any]) -> bytes:
        return _encode(self.worker.handle(request))


class RayWorker:
    """One actor, spoken to like a worker process: requests queue, replies are read in the order sent."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self._pending: deque[tuple[str, Any]] = deque()

    def call(self, op: str, *, timeout: float, **payload: Any) -> dict[str, Any]:
        self.send(op, **payload)
        return self.receive(timeout=timeout, op=op)

    def send(self, op: str, **payload: Any) -> None:
        self._pending.append((op, self.actor.handle.remote({"op": op, **payload})))

    def receive(self, *, timeout: float, op: str = "request") -> dict[str, Any]:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayError

        sent, ref = self._pending.popleft()
        try:
            line = ray.get(ref, timeout=timeout)
        except GetTimeoutError:
            self.kill()
            raise WorkerFailure(f"timed out after {timeout:g} s in {sent}") from None
        except RayActorError as err:
            raise WorkerDied(f"Ray actor died: {_first_line(err)}") from None
        except RayError as err:
            raise WorkerFailure(f"Ray failed in {sent}: {_first_line(err)}") from None
        reply = orjson.loads(line)
        if not reply.get("ok"):
            raise WorkerError(reply.get("error", "unknown error"))
        return dict(reply)

    def kill(self) -> None:
        import ray

        with contextlib.suppress(Exception):  # already dead, or the cluster is gone: nothing left to stop
            ray.kill(self.actor, no_restart=True)

    def close(self, *, wait: bool = True) -> None:
        if wait and not self._pending:
            with contextlib.suppress(WorkerFailure, WorkerError):
                self.call("shutdown", timeout=10)
        self.kill()
        self._pending.clear()


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    wanted = next((line for line in lines if "SIG" in line or "exit" in line.lower()), lines[0] if lines else "")
    return (wanted or type(err).__name__)[:300]


class RayExecutor:
    """Actors on a Ray cluster: started here for the run (``address`` None), or an existing one's."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._environ: dict[str, str | None] = {}
        if address is None and "ray" not in sys.modules:  # a new instance: on loopback, with a token of its own
            self._set_environ(_LOOPBACK_ONLY)
            if not any(os.environ.get(k) for k in _AUTH_VARIABLES):
                self._set_environ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)})
        try:
            import ray
        except ImportError:
            self._restore_environ()
            raise MissingExtraError("ray", "ray") from None
        self._own_init = not ray.is_initialized()  # a caller's own ray.init() is used as it is
        if self._own_init:
            self._connect()
        self._remote = ray.remote(RequestHandler)
        self._totals = {k: float(v) for k, v in ray.cluster_resources().items()}

    def _connect(self) -> None:
        import ray
        from ray.exceptions import AuthenticationError, RayError

        where = self.address or "a new local Ray instance"
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        if self.address is None:
            kwargs["include_dashboard"] = False
        said = ""
        try:
            with _signal_handlers_kept(), _stderr_held() as held:
                try:
                    ray.init(address=self.address, **kwargs)
                finally:
                    said = held()
        except AuthenticationError:
            self._restore_environ()
            raise ConfigError(_token_problem(where, "wants an authentication token and nerbench found none")) from None
        except (ConnectionError, RuntimeError, ValueError, TimeoutError, RayError) as err:
            self._restore_environ()
            if "InvalidAuthToken" in said or "InvalidAuthToken" in str(err):
                raise ConfigError(_token_problem(where, "refused the authentication token nerbench found")) from None
            raise ConfigError(f"cannot start or reach {where} with Ray: {_first_line(err)}") from None
        if said.strip():
            sys.stderr.write(said)  # Ray's warnings, once it is up

    def _set_environ(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_environ(self) -> None:
        for key, value in self._environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._environ = {}

    def start(self, spec: WorkerSpec) -> RayWorker:
        cpus = 1.0 if spec.num_cpus is None else spec.num_cpus
        gpus = spec.num_gpus or 0.0
        for what, wanted in (("CPU", cpus), ("GPU", gpus)):
            if wanted > self._totals.get(what, 0.0):
                raise WorkerFailure(
                    f"model {spec.model!r} asks for {wanted:g} {what}s per worker and the Ray cluster has "
                    f"{self._totals.get(what, 0.0):g}"
                )
        options: dict[str, Any] = {"num_cpus": cpus, "num_gpus": gpus, "max_restarts": 0, "max_task_retries": 0}
        if spec.python:
            options["runtime_env"] = {"py_executable": spec.python}
        return RayWorker(self._remote.options(**options).remote())

    def close(self) -> None:
        import ray

        if self._own_init:
            with _signal_handlers_kept():
                ray.shutdown()
            self._restore_environ()


def _token_problem(where: str, problem: str) -> str:
    return (
        f"the Ray cluster at {where} {problem}: set RAY_AUTH_TOKEN_PATH to its token file (on the head node: "
        "ray get-auth-token) or RAY_AUTH_TOKEN"
    )


@contextlib.contextmanager
def _stderr_held() -> Iterator[Callable[[], str]]:
    """Ray's C++ core retries a refused connection for a while, a warning line a second on file descriptor 2:
    held here, so the run says one line about it (what was held is returned by the function yielded)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        restored = False

        def release() -> str:
            nonlocal restored
            if not restored:
                os.dup2(saved, 2)
                restored = True
            held.seek(0)
            return held.read().decode("utf-8", errors="replace")

        try:
            yield release
        finally:
            release()
            os.close(saved)


@contextlib.contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    """Ray installs its own SIGTERM handler (exit at once); nerbench's (stop, record, kill workers) stays."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in kept.items():
            if handler is not None:
                signal.signal(signum, handler)
