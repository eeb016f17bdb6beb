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
    """F1 may not fall more than ``max_drop`` below the baseline run's, where the fall is significant.

    Its measured value is the drop itself (baseline F1 minus current F1, positive when worse).
    """

    max_drop: float
    alpha: float = 0.05
    model: str | None = None
    dataset: str | None = None
    key: str = "max_drop"
    resamples: int = 1000

    def applies(self, cell: CellResult) -> bool:
        return self.model in (None, cell.model) and self.dataset in (None, cell.dataset)

    @property
    def metric(self) -> str:
        return "F1 drop vs baseline"

    def describe(self) -> str:
        return f"{self.metric} <= {self.max_drop:g} (or not significant)"

    def measure(
        self, current: CellResult, baseline: CellBaseline | None, details: Details | None
    ) -> tuple[float | None, str | None]:
        """(the drop, the failure or None)."""
        where = f"{current.model} on {current.dataset}"
        if current.status != "done":
            return None, f"the cell is {current.status}: {current.reason or 'no reason given'}"
        if baseline is None:
            raise InputError(f"the baseline has no cell for {where}: pick a baseline that ran it")
        a, b = details, baseline.details
        if a is None or b is None or not a.per_doc or a.doc_ids != b.doc_ids:
            raise InputError(f"the baseline of {where} was scored on different documents: pick a matching baseline")
        if self.resamples <= 0:  # settings.bootstrap 0: no significance test, so any drop over max_drop fails
            drop = _f1(b.per_doc) - _f1(a.per_doc)
            failure = f"F1 fell {drop:.4f} (> {self.max_drop:g}) from the baseline (no bootstrap: bootstrap is 0)"
            return drop, failure if drop > self.max_drop else None
        test = paired_bootstrap_counts(b.per_doc, a.per_doc, resamples=self.resamples)
        if test.delta > self.max_drop and test.significant(self.alpha):
            return test.delta, f"F1 fell {test.delta:.4f} (> {self.max_drop:g}) from the baseline, p={test.p_value:.3f}"
        return test.delta, None


def _f1(per_doc: Sequence[Sequence[int]]) -> float:
    correct, predicted, gold = (sum(row[i] for row in per_doc) for i in range(3))
    return 2 * correct / (predicted + gold) if predicted + gold else 0.0


@dataclass(frozen=True)
class Outcome:
    """One check on one cell: what was measured (``metric``, ``value``), against what, and the verdict."""

    name: str
    metric: str
    value: float | None
    threshold: str
    failure: str | None
    where: str = ""  # "model / dataset"

    @property
    def passed(self) -> bool:
        return self.failure is None

    @property
    def measured(self) -> str:
        return f"{self.metric} {'—' if self.value is None else f'{self.value:.4g}'}"


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
            name = f"{cell.model} / {cell.dataset}: {check.describe()}"
            if isinstance(check, DropCheck):
                value, failure = check.measure(cell, (baseline or {}).get(key), details.get(key))
            else:
                value, failure = check.value(cell), check.fails(cell)
            where = f"{cell.model} / {cell.dataset}"
            outcomes.append(Outcome(name, check.metric, value, check.describe(), failure, where))
    checked = {o.where for o in outcomes}
    for cell in cells:  # a model of the suite that never answered fails the gate even where nothing checks it
        where = f"{cell.model} / {cell.dataset}"
        if cell.status != "done" and where not in checked:
            reason = f"the cell is {cell.status}: {cell.reason or 'no reason given'}"
            outcomes.append(Outcome(f"{where}: a result", "status", None, "a result", reason, where))
    return outcomes


def line(outcome: Outcome) -> str:
    """The one line printed per check: verdict, name, measured value, threshold."""
    verdict = "PASS" if outcome.passed else "FAIL"
    why = f" ({outcome.failure})" if outcome.failure else ""
    value = "—" if outcome.value is None else f"{outcome.value:.4g}"
    return f"{verdict}  {outcome.name}: value {value}, threshold {outcome.threshold}{why}"


def junit_xml(outcomes: Sequence[Outcome], *, suite: str = "nerbench gate", error: str | None = None) -> str:
    """JUnit XML: one test case per check, failures with their reason (GitHub Actions, GitLab, Jenkins).

    ``error``: the gate stopped on bad input or configuration (exit 2); one error test case says why.
    """
    failures = sum(not o.passed for o in outcomes)
    tests = len(outcomes) + (1 if error else 0)
    root = ET.Element("testsuites", name=suite, tests=str(tests), failures=str(failures), errors=str(int(bool(error))))
    ts = ET.SubElement(
        root, "testsuite", name=suite, tests=str(tests), failures=str(failures), errors=str(int(bool(error)))
    )
    for o in outcomes:
        case = ET.SubElement(ts, "testcase", classname="nerbench.gate", name=o.name, time="0")
        if o.failure:
            ET.SubElement(case, "failure", message=o.failure, type="threshold").text = line(o)
    if error:
        case = ET.SubElement(ts, "testcase", classname="nerbench.gate", name="gate configuration", time="0")
        ET.SubElement(case, "error", message=error, type="configuration").text = error
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_summary(
    outcomes: Sequence[Outcome],
    *,
    title: str = "nerbench gate",
    baseline: Sequence[str] = (),
    error: str | None = None,
) -> str:
    """The checks as Markdown, for a CI job summary or a pull-request comment: the verdict, the baseline it
    compared with (``baseline``: lines naming it), and each check's measured value, threshold and verdict."""
    failed = sum(not o.passed for o in outcomes)
    if error:
        verdict = "ERROR (configuration: exit 2)"
    else:
        verdict = f"{'FAILED' if failed else 'passed'} ({len(outcomes) - failed}/{len(outcomes)} checks)"
    lines = [f"### {title}: {verdict}", ""]
    if error:
        lines += [f"> {_md(error)}", ""]
    lines += [f"- {_md(b)}" for b in baseline]
    if baseline:
        lines.append("")
    if outcomes:
        lines += ["| | model / dataset | measured | threshold | reason |", "|---|---|---|---|---|"]
        for o in outcomes:
            cells = [o.where or o.name, o.measured, o.threshold, o.failure or ""]
            lines.append(f"| {'✅' if o.passed else '❌'} | " + " | ".join(_md(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
