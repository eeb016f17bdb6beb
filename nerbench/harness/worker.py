"""The worker process: loads one model once and serves requests as JSON lines on stdin/stdout.

Run as ``python -m nerbench.harness.worker`` (by the runner, possibly under
another virtual environment's interpreter). Anything a library prints goes to
stderr: the protocol owns the real stdout. Times are measured here, around the
adapter call only, so the pipe's cost is not counted as the model's.

Requests: ``{"op": "init", "config": {...}}``, ``fingerprint``, ``load``,
``fit`` (``{"train": {"path", "format", "options"}}``), ``info``,
``predict`` (``{"inputs": [{"id", "text", "tokens"}]}``; each result carries its input's ``id``),
``usage``, ``memory``, ``shutdown``. Replies: ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from nerbench.adapters.data import read_corpus
from nerbench.adapters.models import ModelAdapter, ModelConfig, create_adapter
from nerbench.adapters.models.base import DocumentErrors
from nerbench.types import Span, TextInput


def _error_text(err: BaseException) -> str:
    if isinstance(err, DocumentErrors) and err.errors:
        return next(iter(err.errors.values())).splitlines()[0][:500]
    return f"{type(err).__name__}: {err}".splitlines()[0][:500]


def _spans_json(spans: list[Span]) -> list[list[Any]]:
    return [[s.start, s.end, s.label, s.surface] for s in spans]


def _partial_results(partial: DocumentErrors) -> list[dict[str, Any]]:
    return [
        {"error": partial.errors[i].splitlines()[0][:500]} if i in partial.errors else {"spans": _spans_json(spans)}
        for i, spans in enumerate(partial.results)
    ]


class Worker:
    """Holds one adapter and answers the runner's requests."""

    def __init__(self) -> None:
        self.adapter: ModelAdapter | None = None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        method = getattr(self, f"op_{op}", None)
        if method is None:
            return {"ok": False, "error": f"unknown op {op!r}"}
        try:
            return {"ok": True, **method(request)}
        except Exception as err:  # the runner records the failure; the worker lives on
            return {"ok": False, "error": _error_text(err)}

    def _model(self) -> ModelAdapter:
        if self.adapter is None:
            raise RuntimeError("worker got a request before init")
        return self.adapter

    def op_init(self, request: dict[str, Any]) -> dict[str, Any]:
        raw = request["config"]
        config = ModelConfig(
            name=raw["name"],
            adapter=raw["adapter"],
            options=raw.get("options", {}),
            schema=raw.get("schema", {}),
            cache_dir=Path(raw.get("cache_dir", ".nerbench/cache")),
        )
        self.adapter = create_adapter(config)
        adapter = self.adapter
        return {
            "family": adapter.family, "trains": bool(adapter.trains),
            "kind": str(getattr(adapter, "kind", "")), "notice": str(getattr(adapter, "notice", "")),
        }  # fmt: skip

    def op_fingerprint(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"fingerprint": self._model().fingerprint()}

    def op_load(self, request: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        self._model().load()
        return {"seconds": time.perf_counter() - start}

    def op_fit(self, request: dict[str, Any]) -> dict[str, Any]:
        train = request["train"]
        corpus = read_corpus(train["path"], format=train.get("format", "auto"), **train.get("options", {}))
        start = time.perf_counter()
        self._model().fit(corpus.documents)
        return {"seconds": time.perf_counter() - start, "documents": len(corpus.documents)}

    def op_info(self, request: dict[str, Any]) -> dict[str, Any]:
        model = self._model()
        return {"labels": sorted(model.labels()), "fingerprint": model.fingerprint(), "describe": model.describe()}

    def op_predict(self, request: dict[str, Any]) -> dict[str, Any]:
        """Predict a batch; each result names its document (the runner keys replies by document id)."""
        reply = self._predict(request)
        for item, result in zip(request["inputs"], reply["results"], strict=True):
            result["id"] = item["id"]
        return reply

    def _predict(self, request: dict[str, Any]) -> dict[str, Any]:
        """Predict a batch; when the batch raises, each document is retried alone to find the failures."""
        model = self._model()
        inputs = [
            TextInput(i["id"], i["text"], tuple(map(tuple, i["tokens"])) if i.get("tokens") else None)
            for i in request["inputs"]
        ]
        start = time.perf_counter()
        try:
            outputs = model.predict(inputs)
            if len(outputs) != len(inputs):
                raise RuntimeError(f"adapter returned {len(outputs)} results for {len(inputs)} inputs")
        except DocumentErrors as partial:  # each document was tried: record the failures, re-send nothing
            if len(partial.results) != len(inputs):
                return self._predict_one_by_one(model, inputs)
            return {"seconds": time.perf_counter() - start, "results": _partial_results(partial)}
        except Exception as err:
            if len(inputs) == 1:
                return {"seconds": time.perf_counter() - start, "results": [{"error": _error_text(err)}]}
            return self._predict_one_by_one(model, inputs)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "results": [{"spans": _spans_json(spans)} for spans in outputs]}

    def _predict_one_by_one(self, model: ModelAdapter, inputs: list[TextInput]) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        seconds = 0.0
        for item in inputs:
            start = time.perf_counter()
            try:
                (spans,) = model.predict([item])
                results.append({"spans": _spans_json(spans)})
            except Exception as err:
                results.append({"error": _error_text(err)})
            seconds += time.perf_counter() - start
        return {"seconds": seconds, "results": results}

    def op_usage(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"usage": asdict(self._model().usage())}

    def op_memory(self, request: dict[str, Any]) -> dict[str, Any]:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        gpu_mb = None
        if "torch" in sys.modules:
            torch = sys.modules["torch"]
            if torch.cuda.is_available():
                gpu_mb = torch.cuda.max_memory_allocated() / 2**20
        return {"peak_rss_mb": peak_kb / 1024, "peak_gpu_mb": gpu_mb}

    def op_shutdown(self, request: dict[str, Any]) -> dict[str, Any]:
        return {}


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """Answer requests until EOF or ``shutdown``."""
    worker = Worker()
    for line in inp:
        if not line.strip():
            continue
        try:
            request = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            reply: dict[str, Any] = {"ok": False, "error": f"bad request: {err}"}
            request = {}
        else:
            reply = worker.handle(request) if isinstance(request, dict) else {"ok": False, "error": "bad request"}
            request = request if isinstance(request, dict) else {}
        out.write(_encode(reply))
        out.flush()
        if request.get("op") == "shutdown":
            return


def _encode(reply: dict[str, Any]) -> bytes:
    """One reply line; a reply that cannot be encoded (an adapter's odd value) becomes an error reply."""
    try:
        return orjson.dumps(reply, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError as err:
        return orjson.dumps({"ok": False, "error": f"reply not JSON: {err}"}, option=orjson.OPT_APPEND_NEWLINE)


def main() -> None:
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # libraries that print (even from C) write to stderr, not into the protocol
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, protocol_out)


if __name__ == "__main__":
    main()
