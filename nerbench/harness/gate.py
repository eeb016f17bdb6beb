"""The production gate: a few declarative checks over a run's cells, each failing with a one-line reason.

A check is a tiny object with ``fails(current, baseline) -> str | None`` over stored cells (the store's
result JSON, ``details`` included). Against a baseline run, F1 fails only on a drop larger than
``max_drop`` that the paired bootstrap finds significant; a missing or mismatched baseline is a usage
error (exit 2), never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from nerbench.errors import InputError
from nerbench.scoring import paired_bootstrap_counts


def _get(cell: Mapping[str, Any], *keys: str) -> Any:
    value: Any = cell
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


# Threshold key -> (metric shown, getter, True when the value must be at least the threshold).
METRICS: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any], bool]] = {
    "min_f1": ("F1", lambda c: _get(c, "metrics", "micro", "f1"), True),
    "max_schema_error_rate": ("schema error rate", lambda c: _get(c, "metrics", "schema_error_rate"), False),
    "max_boundary_error_rate": ("boundary error rate", lambda c: _get(c, "metrics", "boundary_error_rate"), False),
    "max_invalid_rate": ("invalid span rate", lambda c: _get(c, "metrics", "invalid_rate"), False),
    "max_p95_ms": ("p95 latency ms", lambda c: _get(c, "latency", "p95_ms"), False),
    "max_usd_per_1k": ("USD per 1k documents", lambda c: _get(c, "cost", "usd_per_1k_docs"), False),
}


@dataclass(frozen=True)
class Check:
    """A threshold on one metric of the cells it applies to (``model``/``dataset`` None: every one)."""

    key: str  # a METRICS key, or "min_label_f1"
    threshold: float
    model: str | None = None
    dataset: str | None = None
    label: str | None = None

    def applies(self, cell: Mapping[str, Any]) -> bool:
        return self.model in (None, cell["model"]) and self.dataset in (None, cell["dataset"])

    @property
    def metric(self) -> str:
        return f"F1 of {self.label}" if self.label else METRICS[self.key][0]

    @property
    def at_least(self) -> bool:
        return self.key == "min_label_f1" or METRICS[self.key][2]

    def value(self, cell: Mapping[str, Any]) -> float | None:
        if self.label is not None:
            return _get(cell, "metrics", "per_label", self.label, "f1")
        return METRICS[self.key][1](cell)

    def describe(self) -> str:
        return f"{self.metric} {'>=' if self.at_least else '<='} {self.threshold:g}"

    def fails(self, current: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> str | None:
        if current.get("status") != "done":
            return f"the cell did not finish: {_get(current, 'failures', 'error') or current.get('status')}"
        if self.label is not None:
            self._label_in_gold(current)
        value = self.value(current)
        if value is None:
            return f"{self.metric} was not measured"
        ok = value >= self.threshold if self.at_least else value <= self.threshold
        return None if ok else f"{self.metric} {value:.4g} {'<' if self.at_least else '>'} {self.threshold:g}"

    def _label_in_gold(self, cell: Mapping[str, Any]) -> None:
        """A label the gold has no span of cannot be scored: a configuration error (a typo), never a FAIL or PASS."""
        per_label = _get(cell, "metrics", "per_label") or {}
        if not _get(per_label, self.label or "", "support"):
            known = ", ".join(sorted(k for k, v in per_label.items() if _get(v, "support"))) or "none"
            raise InputError(
                f"gate check {self.describe()!r}: the gold of {cell['dataset']} has no {self.label} span "
                f"(its labels: {known}): fix the label, or scope the check to a dataset that has it"
            )


@dataclass(frozen=True)
class DropCheck:
    """F1 may not fall more than ``max_drop`` below the baseline run's, where the fall is significant."""

    max_drop: float
    alpha: float = 0.05
    model: str | None = None
    dataset: str | None = None
    key: str = "max_drop"

    def applies(self, cell: Mapping[str, Any]) -> bool:
        return self.model in (None, cell["model"]) and self.dataset in (None, cell["dataset"])

    def describe(self) -> str:
        return f"F1 drop vs baseline <= {self.max_drop:g} (or not significant)"

    def value(self, cell: Mapping[str, Any]) -> float | None:
        return _get(cell, "metrics", "micro", "f1")

    def fails(self, current: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> str | None:
        where = f"{current['model']} on {current['dataset']}"
        if baseline is None:
            raise InputError(f"the baseline run has no cell for {where}: pick a baseline that ran it")
        a, b = current.get("details") or {}, baseline.get("details") or {}
        if not a.get("per_doc") or a.get("doc_ids") != b.get("doc_ids"):
            raise InputError(f"the baseline of {where} was scored on different documents: pick a matching baseline")
        test = paired_bootstrap_counts(b["per_doc"], a["per_doc"], resamples=1000)
        if test.delta > self.max_drop and test.significant(self.alpha):
            return f"F1 fell {test.delta:.4f} (> {self.max_drop:g}) from the baseline, p={test.p_value:.3f}"
        return None


@dataclass(frozen=True)
class Outcome:
    """One check on one cell."""

    name: str
    value: float | None
    threshold: str
    failure: str | None

    @property
    def passed(self) -> bool:
        return self.failure is None


def evaluate(
    checks: Sequence[Check | DropCheck],
    cells: Sequence[Mapping[str, Any]],
    baseline: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> list[Outcome]:
    """Every check on every cell it applies to; a check that matches no cell is a configuration error."""
    outcomes = []
    for check in checks:
        matched = [c for c in cells if check.applies(c)]
        if not matched:
            scope = "/".join(x or "*" for x in (check.model, check.dataset))
            raise InputError(f"gate check {check.describe()!r} for {scope} matches no model and dataset of the run")
        for cell in matched:
            base = (baseline or {}).get((cell["model"], cell["dataset"]))
            name = f"{cell['model']} / {cell['dataset']}: {check.describe()}"
            outcomes.append(Outcome(name, check.value(cell), check.describe(), check.fails(cell, base)))
    return outcomes


def line(outcome: Outcome) -> str:
    """The one line printed per check: verdict, name, value, threshold."""
    value = "—" if outcome.value is None else f"{outcome.value:.4g}"
    verdict = "PASS" if outcome.passed else "FAIL"
    why = f" ({outcome.failure})" if outcome.failure else ""
    return f"{verdict}  {outcome.name}: value {value}, threshold {outcome.threshold}{why}"


def junit_xml(outcomes: Sequence[Outcome], *, suite: str = "nerbench gate") -> str:
    """JUnit XML: one test case per check, failures with their reason (GitHub Actions, GitLab, Jenkins)."""
    failures = sum(not o.passed for o in outcomes)
    root = ET.Element("testsuites", name=suite, tests=str(len(outcomes)), failures=str(failures))
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(outcomes)), failures=str(failures), errors="0")
    for o in outcomes:
        case = ET.SubElement(ts, "testcase", classname="nerbench.gate", name=o.name, time="0")
        if o.failure:
            ET.SubElement(case, "failure", message=o.failure, type="threshold").text = line(o)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def markdown_summary(outcomes: Sequence[Outcome], *, title: str = "nerbench gate") -> str:
    """A Markdown table of the checks, for a CI job summary or a pull-request comment."""
    failed = sum(not o.passed for o in outcomes)
    head = f"### {title}: {'FAILED' if failed else 'passed'} ({len(outcomes) - failed}/{len(outcomes)} checks)"
    rows = ["| | check | value | threshold | reason |", "|---|---|---:|---|---|"]
    for o in outcomes:
        value = "—" if o.value is None else f"{o.value:.4g}"
        cells = [o.name, value, o.threshold, o.failure or ""]
        safe = [c.replace("|", "\\|") for c in cells]
        rows.append(f"| {'✅' if o.passed else '❌'} | " + " | ".join(safe) + " |")
    return "\n".join([head, "", *rows]) + "\n"
