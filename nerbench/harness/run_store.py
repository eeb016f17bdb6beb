"""The store as a run writes it: every expanded ``${VAR}`` value replaced by ``${VAR}`` on the way in.

What the runner stores (the run record, each cell, each prediction set's fingerprint and
measurements, each document's error) can carry an expanded value: an endpoint in a
fingerprint or a ``describe()``, a URL in an error text. :class:`RunStore` redacts it all
(see :mod:`nerbench.redact`). Cache keys are hashes computed from the expanded values, so
two environments still get two keys; the suite's path, a lookup key, is redacted the same
way when stored and when looked up. Spans are stored as the model gave them: their text
is the document's own. The run directory's path, which the user gave on the command line
and which finds the run again, is stored as given. :func:`redacted_progress` does the same
for the progress events the console shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import nerbench.redact as redact
from nerbench.harness.store import Store, StoredPrediction


class RunStore(Store):
    """A :class:`Store` whose writes are redacted."""

    def create_run(
        self, run_id: str, *, suite: str, suite_path: str, digest: str, out_dir: str, info: dict[str, Any]
    ) -> None:
        super().create_run(
            run_id, suite=redact.text(suite), suite_path=redact.text(suite_path), digest=digest, out_dir=out_dir,
            info=redact.value(info),
        )  # fmt: skip

    def record_verdict(self, run_id: str, verdict: str, reason: str | None = None) -> None:
        super().record_verdict(run_id, verdict, None if reason is None else redact.text(reason))

    def unfinished_run(self, suite_path: str, digest: str) -> dict[str, Any] | None:
        return super().unfinished_run(redact.text(suite_path), digest)

    def save_cell(
        self,
        run_id: str,
        model: str,
        dataset: str,
        *,
        status: str,
        cache_key: str | None,
        result: dict[str, Any],
        result_key: str | None = None,
        details: Mapping[str, Any] | None = None,
        scoring_id: int | None = None,
    ) -> int | None:
        return super().save_cell(
            run_id, model, dataset, status=status, cache_key=cache_key, result=redact.value(result),
            result_key=result_key, details=details,  # counts, gold ids and labels: nothing a suite expands
            scoring_id=scoring_id,
        )  # fmt: skip

    def finish_scoring(self, scoring_id: int, result_key: str, result: dict[str, Any]) -> int:
        return super().finish_scoring(scoring_id, result_key, redact.value(result))

    def start_prediction_set(self, cache_key: str, *, adapter: str, fingerprint: str, dataset_hash: str) -> None:
        super().start_prediction_set(
            cache_key, adapter=adapter, fingerprint=redact.text(fingerprint), dataset_hash=dataset_hash
        )

    def complete_prediction_set(self, cache_key: str, perf: dict[str, Any]) -> None:
        super().complete_prediction_set(cache_key, redact.value(perf))

    def add_batch(
        self,
        cache_key: str,
        first_position: int,
        predictions: Iterable[StoredPrediction],
        *,
        characters: int,
        seconds: float,
    ) -> None:
        redacted = [
            p if p.error is None else StoredPrediction(p.doc_id, p.position, p.spans, redact.text(p.error))
            for p in predictions
        ]
        super().add_batch(cache_key, first_position, redacted, characters=characters, seconds=seconds)


def redacted_progress(progress: Callable[..., None]) -> Callable[..., None]:
    """Progress events carry error texts to the console: expanded ``${VAR}`` values never among them."""

    def send(event: str, **data: Any) -> None:
        progress(event, **{k: redact.text(v) if isinstance(v, str) else v for k, v in data.items()})

    return send
