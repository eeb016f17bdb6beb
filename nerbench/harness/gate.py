"""The production gate: a few declarative checks over a run's cells, each failing with a one-line reason.

A check is a tiny object with ``fails(current, baseline) -> str | None`` over stored cells (the store's
result JSON, ``details`` included). Against a baseline run, F1 fails only on a drop larger than
``max_drop`` that the paired bootstrap finds significant; a missing or mismatched baseline is a usage
error (exit 2), never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from nerbench.errors import InputError
from nerbench.harness import metric_info
from nerbench.harness.cell_result import CellResult
from nerbench.harness.results import Details
from nerbench.scoring import paired_bootstrap_counts

LABEL_F1 = "min_label_f1"


def threshold_keys() -> tuple[str, ...]:
    """Every threshold a gate can set: one per gated metric of the MetricInfo table, and per-label F1."""
    return (*metric_info.gate_metrics(), LABEL_F1)


@dataclass(frozen=True)
class Check:
    """A threshold on one metric of the cells it applies to (``model``/``dataset`` None: every one)."""

    key: str  # a gate key of the MetricInfo table (min_f1, max_p95_ms, ...), or "min_label_f1"
    threshold: float
    model: str | None = None
    dataset: str | None = None
    label: str | None = None

    def applies(self, cell: CellResult) -> bool:
        return self.model in (None, cell.model) and self.dataset in (None, cell.dataset)

    @property
    def info(self) -> metric_info.MetricInfo | None:
        return None if self.key == LABEL_F1 else metric_info.gate_metrics()[self.key]

    @property
    def metric(self) -> str:
        if self.label:
            return f"F1 of {self.label}"
        info = self.info
        assert info is not None
        return info.header

    @property
    def at_least(self) -> bool:
        return self.info is None or self.info.higher_is_better

    def value(self, cell: CellResult) -> float | None:
        if self.label is not None:
            scores = cell.metrics.per_label.get(self.label) if cell.metrics else None
            return scores.f1 if scores else None
        info = self.info
        assert info is not None
        return info.value(cell)

    def describe(self) -> str:
        return f"{self.metric} {'>=' if self.at_least else '<='} {self.threshold:g}"

    def fails(self, current: CellResult, baseline: CellBaseline | None = None) -> str | None:
        if current.status != "done":
            return f"the cell is {current.status}: {current.reason or current.failures.error or 'no reason given'}"
        if self.label is not None:
            self._label_in_gold(current)
        value = self.value(current)
        if value is None:
            return f"{self.metric} was not measured"
        ok = value >= self.threshold if self.at_least else value <= self.threshold
        return None if ok else f"{self.metric} {value:.4g} {'<' if self.at_least else '>'} {self.threshold:g}"

    def _label_in_gold(self, cell: CellResult) -> None:
        """A label the gold has no span of cannot be scored: a configuration error (a typo), never a FAIL or PASS."""
        per_label = cell.metrics.per_label if cell.metrics else {}
        scores = per_label.get(self.label or "")
        if scores is None or not scores.support:
            known = ", ".join(sorted(k for k, v in per_label.items() if v.support)) or "none"
            raise InputError(
                f"gate check {self.describe()!r}: the gold of {cell.dataset} has no {self.label} span "
                f"(its labels: {known}): fix the label, or scope the check to a dataset that has it"
            )


@dataclass(frozen=True)
class CellBaseline:
    """A baseline run's cell and its details (per-document counts for the paired bootstrap)."""

    cell: CellResult
    details: Details | None


@dataclass(frozen=True)
class DropCheck:
    """F1 may not fall more than ``max_drop`` below the baseline run's, where the fall is significant."""

    max_drop: float
    alpha: float = 0.05
    model: str | None = None
    dataset: str | None = None
    key: str = "max_drop"

    def applies(self, cell: CellResult) -> bool:
        return self.model in (None, cell.model) and self.dataset in (None, cell.dataset)

    def describe(self) -> str:
        return f"F1 drop vs baseline <= {self.max_drop:g} (or not significant)"

    def value(self, cell: CellResult) -> float | None:
        return cell.f1

    def fails(self, current: CellResult, baseline: CellBaseline | None = None, *, details: Details | None = None
              ) -> str | None:  # fmt: skip
        where = f"{current.model} on {current.dataset}"
        if current.status != "done":
            return f"the cell is {current.status}: {current.reason or 'no reason given'}"
        if baseline is None:
            raise InputError(f"the baseline run has no cell for {where}: pick a baseline that ran it")
        a, b = details, baseline.details
        if a is None or b is None or not a.per_doc or a.doc_ids != b.doc_ids:
            raise InputError(f"the baseline of {where} was scored on different documents: pick a matching baseline")
        test = paired_bootstrap_counts(b.per_doc, a.per_doc, resamples=1000)
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
    cells: Sequence[CellResult],
    details: Mapping[tuple[str, str], Details],
    baseline: Mapping[tuple[str, str], CellBaseline] | None = None,
) -> list[Outcome]:
    """Every check on every cell it applies to; a check that matches no cell is a configuration error."""
    outcomes = []
    for check in checks:
        matched = [c for c in cells if check.applies(c)]
        if not matched:
            scope = "/".join(x or "*" for x in (check.model, check.dataset))
            raise InputError(f"gate check {check.describe()!r} for {scope} matches no model and dataset of the run")
        for cell in matched:
            key = (cell.model, cell.dataset)
            base = (baseline or {}).get(key)
            name = f"{cell.model} / {cell.dataset}: {check.describe()}"
            if isinstance(check, DropCheck):
                failure = check.fails(cell, base, details=details.get(key))
            else:
                failure = check.fails(cell)
            outcomes.append(Outcome(name, check.value(cell), check.describe(), failure))
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
