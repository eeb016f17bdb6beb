"""Run a gate: check everything, run the suite through the normal runner, check the plan, record the verdict.

Everything a user can get wrong is checked before any model loads or any request is sent: the thresholds
(when the plan is built), the model specs (when the suite is built), every per-label threshold against the
gold's labels, the baseline (found, and scored on this very gold), and the ``--accept`` target. The
verdict (``pass``, ``fail``, ``error``) is stored with the run, so a failing gate never becomes ``latest``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from nerbench.errors import NerbenchError
from nerbench.harness.baseline import Baseline, check_accept_target, resolve_baseline, write_baseline
from nerbench.harness.cell_result import CellResult
from nerbench.harness.gate import DropCheck, Outcome, evaluate
from nerbench.harness.gate_config import GatePlan, check_labels
from nerbench.harness.loading import load_datasets
from nerbench.harness.record import Recorded, run_and_record
from nerbench.harness.results import load_run
from nerbench.harness.run_store import RunStore
from nerbench.harness.runner import Progress, RunOptions
from nerbench.harness.suite import Suite


@dataclass(frozen=True)
class GateResult:
    """A gate's run, the outcome of every check, and the baseline it compared with."""

    recorded: Recorded
    outcomes: list[Outcome]
    baseline: Baseline | None

    @property
    def run_id(self) -> str:
        return self.recorded.run_id

    @property
    def cells(self) -> tuple[CellResult, ...]:
        return self.recorded.cells

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)


def _record_verdict(store: Path, run_id: str, verdict: str, reason: str | None = None) -> None:
    db = RunStore(store)
    try:
        db.record_verdict(run_id, verdict, reason)
    finally:
        db.close()


def run_gate(
    suite: Suite, plan: GatePlan, options: RunOptions, progress: Progress, *, accept: Path | None = None
) -> GateResult:
    """Check, run (cached predictions make a repeat cheap), evaluate, record; with ``accept``, a passing
    gate's run is written there as the baseline file to commit."""
    if accept is not None:
        check_accept_target(accept)
    datasets = load_datasets(suite, options.limit)
    check_labels(plan.checks, suite, datasets)
    baseline = resolve_baseline(plan.baseline, options.store, suite, datasets) if plan.baseline else None
    recorded = run_and_record(suite, options, progress, datasets=datasets)
    # settings.bootstrap governs the drop check's paired bootstrap as it does every other bootstrap
    checks = [replace(c, resamples=suite.settings.bootstrap) if isinstance(c, DropCheck) else c for c in plan.checks]
    try:
        outcomes = evaluate(checks, recorded.cells, recorded.details, baseline.cells if baseline else None)
    except NerbenchError as err:
        _record_verdict(options.store, recorded.run_id, "error", str(err))
        raise
    result = GateResult(recorded, outcomes, baseline)
    _record_verdict(options.store, recorded.run_id, "pass" if result.passed else "fail")
    if accept is not None and result.passed:
        write_baseline(accept, load_run(recorded.out_dir).result, recorded.details)
    return result


def baseline_lines(result: GateResult) -> list[str]:
    """What the summary says about the baseline: where it came from, when it ran, and each cell's F1 then and now."""
    baseline = result.baseline
    if baseline is None:
        return []
    lines = [f"Baseline: {baseline.source}, run {baseline.created_at}"]
    for cell in result.cells:
        now = f"{cell.f1:.4f}" if cell.f1 is not None else "—"
        lines.append(
            f"{cell.model} / {cell.dataset}: F1 {now} now, {baseline.f1_text(cell.model, cell.dataset)} in the baseline"
        )
    return lines
