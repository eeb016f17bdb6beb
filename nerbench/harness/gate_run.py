"""Run a suite through the normal runner, then check the gate's plan against its cells (and a baseline run)."""

from __future__ import annotations

from pathlib import Path

from nerbench.errors import InputError
from nerbench.harness.cell_result import CellResult
from nerbench.harness.gate import CellBaseline, Outcome, evaluate
from nerbench.harness.gate_config import GatePlan
from nerbench.harness.record import run_and_record, stored_details
from nerbench.harness.results import read_run, resolve_run
from nerbench.harness.runner import Progress, RunOptions
from nerbench.harness.store import Store, is_new
from nerbench.harness.suite import Suite


def _baseline(plan: GatePlan, store_path: Path) -> dict[tuple[str, str], CellBaseline] | None:
    """Resolve the baseline before the gate's own run, so ``latest`` means the run before this one."""
    if plan.baseline is None:
        return None
    if is_new(store_path):
        raise InputError(f"no baseline run {plan.baseline!r}: the results store does not exist", path=store_path)
    store = Store(store_path, read_only=True)
    try:
        run_id = resolve_run(store, plan.baseline)
        details = stored_details(store, run_id)
        return {
            (c.model, c.dataset): CellBaseline(c, details.get((c.model, c.dataset)))
            for c in read_run(store, run_id).cells
        }
    finally:
        store.close()


def run_gate(
    suite: Suite, plan: GatePlan, options: RunOptions, progress: Progress
) -> tuple[str, list[Outcome], tuple[CellResult, ...]]:
    """Run ``suite`` (cached predictions make a repeat cheap), write its run directory, and check the plan."""
    baseline = _baseline(plan, options.store)
    recorded = run_and_record(suite, options, progress)
    return recorded.run_id, evaluate(plan.checks, recorded.cells, recorded.details, baseline), recorded.cells
