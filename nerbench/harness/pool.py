"""The throughput pass: a model's batches spread over its replicas, each reply handed back as it comes.

One thread per replica sends batches and reads replies (two batches in flight per worker, so it
never waits for the driver; one in the whole pool under a budget); the calling thread, the only one
that writes the store, takes the replies in whatever order they arrive — every reply carries its
batch, whose documents carry their ids — and hands each to ``on_reply``. Replicas other than the
primary are started, loaded and fitted in their own threads while the primary already predicts.

A worker that dies (a crash, an out-of-memory kill, a killed Ray actor) is replaced by a new one and
the batches it held are sent again; a batch that was in flight on two dying workers is not sent a
third time: the pass fails with the worker's reason, and so does the cell. A worker that times out or
fails a request fails the pass at once (it would only do so again).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nerbench.harness.loading import LoadedDataset
from nerbench.harness.session import ModelSession, Replica, Stopped
from nerbench.harness.worker_client import WorkerDied
from nerbench.types import Document

MAX_DEATHS = 2  # a batch in flight on this many dying workers is not sent again
DEPTH = 2  # batches in flight per worker: the next one waits in its pipe while the driver stores the last
POLL_S = 0.2  # how often the driver looks up from waiting, to see whether the run is stopping


@dataclass
class Batch:
    """Consecutive documents of the dataset (with their positions), and how many workers died holding them."""

    items: list[tuple[int, Document]]
    deaths: int = 0

    @property
    def documents(self) -> list[Document]:
        return [doc for _, doc in self.items]


@dataclass
class _Event:
    """What a replica's thread tells the driver: a reply, its usage, or why it stopped."""

    replica: Replica
    batch: Batch | None = None
    reply: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    error: BaseException | None = None
    lost: list[Batch] = field(default_factory=list)  # batches it held when it failed
    serving: bool = False  # it failed while serving batches (not while starting, loading or fitting)
    done: bool = False  # its thread has ended


class _Work:
    """The batches left to send, handed out under a limit on how many are in flight: batches sent again
    first, then the next from ``batches`` (read only as they are sent: the dataset is never listed whole)."""

    def __init__(self, batches: Iterable[Batch], limit: int) -> None:
        self._source = iter(batches)
        self._todo: deque[Batch] = deque()
        self._limit = limit
        self._in_flight = 0
        self._closed = False
        self._cond = threading.Condition()

    def take(self, *, wait: bool) -> Batch | None:
        """The next batch; None once the work is closed (or at once when nothing is free and not ``wait``)."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self._in_flight < self._limit:
                    batch = self._todo.popleft() if self._todo else next(self._source, None)
                    if batch is not None:
                        self._in_flight += 1
                        return batch
                if not wait:
                    return None
                self._cond.wait()

    def done(self, count: int = 1) -> None:
        with self._cond:
            self._in_flight -= count
            self._cond.notify_all()

    def again(self, batches: Sequence[Batch]) -> None:
        with self._cond:
            self._in_flight -= len(batches)
            self._todo.extendleft(reversed(batches))
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass(frozen=True)
class PassResult:
    """What the workers used during the pass (summed over replicas), the primary's usage after it, and
    how many replicas served (the model's ``replicas``, or fewer when there were fewer batches)."""

    usage: dict[str, Any]
    primary_usage: dict[str, Any]
    replicas: int


Inputs = Callable[[list[Document]], list[dict[str, Any]]]
OnReply = Callable[[Batch, dict[str, Any]], None]
OnUsage = Callable[[dict[str, Any], int], None]  # usage so far in the pass, documents sent: may raise


class ThroughputPass:
    """Predict ``batches`` (``count`` of them) over the session's replicas; ``on_reply`` gets each reply,
    ``on_usage`` (under a budget) the pass's usage after each batch."""

    def __init__(
        self, session: ModelSession, dataset: LoadedDataset, batches: Iterable[Batch], *, count: int,
        inputs: Inputs, on_reply: OnReply, on_usage: OnUsage | None = None,
    ) -> None:  # fmt: skip
        self.session, self.dataset, self.inputs = session, dataset, inputs
        self.on_reply, self.on_usage = on_reply, on_usage
        self.left = count
        self.sent = 0
        self.work = _Work(batches, 1 if on_usage is not None else DEPTH * len(session.replicas))
        self.events: queue.Queue[_Event] = queue.Queue()
        self.threads: dict[Replica, threading.Thread] = {}
        self.first: dict[Replica, dict[str, Any]] = {}  # each replica's usage when it began serving
        self.last: dict[Replica, dict[str, Any]] = {}  # ... and the latest known
        self.gone: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (first, last) of replaced replicas

    def run(self) -> PassResult:
        if self.left == 0:
            self.work.close()
        serving = self.session.replicas[: max(1, min(len(self.session.replicas), self.left))]
        for replica in serving:
            self._start(replica, ready=replica is not self.session.primary)
        try:
            while self.threads:
                self._handle(self._next_event())
        except BaseException:
            self._abandon()
            raise
        primary = self.session.primary
        return PassResult(self._usage(), self.last.get(primary) or self.session.usage(primary), len(serving))

    def _start(self, replica: Replica, *, ready: bool) -> None:
        thread = threading.Thread(target=self._serve, args=(replica, ready), daemon=True, name="nerbench-replica")
        self.threads[replica] = thread
        thread.start()

    def _serve(self, replica: Replica, ready: bool) -> None:
        """A replica's thread: get ready, then send batches and read replies until the work is closed."""
        in_flight: deque[Batch] = deque()
        serving = False
        try:
            if ready:
                self.session.ready(replica, self.dataset)
            handle = self.session.started(replica)
            timeout = self.session.timeout
            self.events.put(_Event(replica, usage=self.session.usage(replica)))
            serving = True
            depth = 1 if self.on_usage is not None else DEPTH
            while True:
                while len(in_flight) < depth and (batch := self.work.take(wait=not in_flight)) is not None:
                    handle.send("predict", inputs=self.inputs(batch.documents))
                    in_flight.append(batch)
                if not in_flight:
                    break
                reply = handle.receive(timeout=timeout, op="predict")
                batch = in_flight.popleft()
                usage = self.session.usage(replica) if self.on_usage is not None else None
                self.events.put(_Event(replica, batch=batch, reply=reply, usage=usage))
            self.events.put(_Event(replica, usage=self.session.usage(replica), done=True))
        except BaseException as err:  # the driver decides: send its batches again, or fail the pass
            self.events.put(_Event(replica, error=err, lost=list(in_flight), serving=serving, done=True))

    def _next_event(self) -> _Event:
        while True:
            self.session.config.shared.check()
            try:
                return self.events.get(timeout=POLL_S)
            except queue.Empty:
                continue

    def _handle(self, event: _Event) -> None:
        key = event.replica
        if event.usage is not None:
            self.first.setdefault(key, event.usage)
            self.last[key] = event.usage
        if event.batch is not None and event.reply is not None:
            self.on_reply(event.batch, event.reply)
            self.work.done()
            self.left -= 1
            self.sent += len(event.batch.items)
            if self.on_usage is not None and self.left:
                self.on_usage(self._usage(), self.sent)
        if self.left == 0:
            self.work.close()
        if event.done:
            self.threads.pop(key).join()
        if event.error is not None:
            self._failed(event)

    def _failed(self, event: _Event) -> None:
        """A replica stopped with an error: replace it and send its batches again, or fail the pass."""
        err = event.error
        assert err is not None
        if isinstance(err, Stopped) or self.session.config.shared.stopping.is_set():
            raise Stopped()
        if not (isinstance(err, WorkerDied) and event.serving):
            raise err
        if not event.lost:
            return  # it died idle, its batches all answered: nothing to send again
        for batch in event.lost:
            batch.deaths += 1
        if any(batch.deaths >= MAX_DEATHS for batch in event.lost):
            raise WorkerDied(f"{err} (the same batch killed a worker before, so it is not sent again)")
        key = event.replica
        if key in self.first:
            self.gone.append((self.first.pop(key), self.last.pop(key)))
        self.work.again(event.lost)
        fresh = self.session.replace(event.replica)
        self._start(fresh, ready=True)

    def _usage(self) -> dict[str, Any]:
        pairs = [*self.gone, *((self.first[k], self.last[k]) for k in self.first)]
        return usage_sum([usage_since(first, last) for first, last in pairs])

    def _abandon(self) -> None:
        """The pass failed: no more work, every replica of this model killed, their threads ended."""
        self.work.close()
        self.session.kill()
        for thread in list(self.threads.values()):
            thread.join(timeout=5)
        self.threads.clear()


def usage_since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A worker's usage between two readings (usage is cumulative since load)."""
    delta: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, int | float):
            delta[key] = value - before.get(key, 0)
        elif isinstance(value, list):
            delta[key] = value[len(before.get(key) or []) :]
        else:
            delta[key] = value
    return delta


def usage_sum(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several workers' usage as one: numbers added, lists joined, anything else the first worker's."""
    if len(parts) == 1:
        return dict(parts[0])
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            so_far = total.get(key)
            numbers = isinstance(value, int | float) and isinstance(so_far, int | float)
            if key not in total:
                total[key] = list(value) if isinstance(value, list) else value
            elif numbers or (isinstance(value, list) and isinstance(so_far, list)):
                total[key] += value
    return total
