"""Run a suite through the normal runner, then check the gate's plan against its cells (and a baseline run)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nerbench.errors import InputError
from nerbench.harness.gate import Outcome, evaluate
from nerbench.harness.gate_config import GatePlan
from nerbench.harness.loading import load_datasets
from nerbench.harness.results import resolve_run
from nerbench.harness.rundir import write_run_dir
from nerbench.harness.runner import Progress, RunOptions, run_suite
from nerbench.harness.store import Store
from nerbench.harness.suite import Suite


def _baseline_id(plan: GatePlan, store_path: Path) -> str | None:
    """Resolve the baseline before the gate's own run, so ``latest`` means the run before this one."""
    if plan.baseline is None:
        return None
    if not store_path.exists():
        raise InputError(f"no baseline run {plan.baseline!r}: the results store does not exist", path=store_path)
    store = Store(store_path)
    try:
        return resolve_run(store, plan.baseline)
    finally:
        store.close()


def _cells(store: Store, run_id: str) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(c["model"], c["dataset"]): c for c in store.cells(run_id)}


def run_gate(suite: Suite, plan: GatePlan, options: RunOptions, progress: Progress) -> tuple[str, list[Outcome]]:
    """Run ``suite`` (cached predictions make a repeat cheap), write its run directory, and check the plan."""
    baseline_id = _baseline_id(plan, options.store)
    run_id, store = run_suite(suite, options, progress)
    try:
        record = store.run(run_id) or {}
        out_dir = Path(record.get("out_dir") or Path("runs") / run_id)
        write_run_dir(store, run_id, out_dir, suite, load_datasets(suite, options.limit))
        current = list(_cells(store, run_id).values())
        baseline = _cells(store, baseline_id) if baseline_id else None
    finally:
        store.close()
    return run_id, evaluate(plan.checks, current, baseline)
