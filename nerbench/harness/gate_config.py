"""What the gate checks, from a suite's ``gate:`` block or the command line, and the one-model suite of ``--gold``.

The ``gate:`` block::

    gate:
      min_f1: 0.5                  # global thresholds: every model on every dataset
      max_p95_ms: 50
      baseline: latest             # optional: a run id, a prefix, or latest
      max_drop: 0.02               # F1 drop allowed against the baseline (significant drops only)
      models:                      # thresholds for one model, or one model on one dataset
        crf/finance:
          min_f1: 0.8
          min_label_f1: {TICKER: 0.9}

A model SPEC on the command line is ``ADAPTER[:KEY=VALUE,KEY=VALUE...]`` (values read as YAML scalars, paths
relative to the current directory) or the path of a YAML file holding one model entry of a suite.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nerbench.adapters.models import adapter_class, adapter_names
from nerbench.errors import ConfigError, InputError
from nerbench.harness import metric_info
from nerbench.harness.gate import LABEL_F1, Check, DropCheck, threshold_keys
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.suite import DataRef, DatasetSpec, ModelSpec, Settings, Suite, model_outside_suite
from nerbench.harness.yamlfile import line_of, load_yaml
from nerbench.labels import load_label_map


@dataclass(frozen=True)
class GatePlan:
    """The checks to run and the baseline run to compare with (None: no regression check)."""

    checks: tuple[Check | DropCheck, ...]
    baseline: str | None = None


def _number(value: Any, what: str, path: Path | None, node: Any, key: str, *, maximum: float | None = None) -> float:
    """A threshold: a finite number from 0 up to the metric's largest value (1 for F1 and the rates)."""
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value >= 0
    if not ok or (maximum is not None and value > maximum):
        bound = f"a number from 0 to {maximum:g}" if maximum is not None else "a non-negative number"
        raise InputError(f"gate: {what} must be {bound}, got {value!r}", path=path, line=line_of(node, key))
    return float(value)


def thresholds(
    values: Mapping[str, Any], *, model: str | None, dataset: str | None, path: Path | None = None, node: Any = None
) -> list[Check]:
    """Checks from a mapping of threshold keys (``min_f1: 0.8``, ``min_label_f1: {ORG: 0.7}``, ...).

    ``node`` is the YAML mapping the values were read from (for line numbers), when not ``values`` itself.
    """
    node = values if node is None else node
    checks = []
    for key, value in values.items():
        if key not in threshold_keys():
            raise InputError(
                f"gate: unknown threshold {key!r}: use {', '.join(threshold_keys())}",
                path=path,
                line=line_of(node, key),
            )
        if key == LABEL_F1:
            if not isinstance(value, Mapping) or not value:
                raise InputError(
                    "gate: min_label_f1 must map labels to F1 thresholds", path=path, line=line_of(node, key)
                )
            for label, x in value.items():
                threshold = _number(x, f"min_label_f1 of {label}", path, value, label, maximum=1.0)
                checks.append(Check(key, threshold, model, dataset, str(label)))
        else:
            maximum = metric_info.gate_metrics()[key].maximum
            checks.append(Check(key, _number(value, key, path, node, key, maximum=maximum), model, dataset))
    return checks


def check_labels(checks: Sequence[Check | DropCheck], suite: Suite, datasets: Sequence[LoadedDataset]) -> None:
    """Every check's scope names a model and dataset the run has, and every per-label threshold a label the
    gold of a dataset in its scope has (before anything runs)."""
    models = {m.name: m for m in suite.models}
    names = [d.spec.name for d in datasets]
    for check in checks:
        where = "/".join(x or "*" for x in (check.model, check.dataset))
        if check.model is not None and check.model not in models:
            raise InputError(
                f"gate check {check.describe()!r} for {where}: the run has no model {check.model!r} "
                f"(its models: {', '.join(models)})"
            )
        if check.dataset is not None and check.dataset not in names:
            raise InputError(
                f"gate check {check.describe()!r} for {where}: the run has no dataset {check.dataset!r} "
                f"(its datasets: {', '.join(names)})"
            )
        if check.model is not None and check.dataset is not None and not models[check.model].runs_on(check.dataset):
            raise InputError(
                f"gate check {check.describe()!r} for {where}: {check.model} does not run on {check.dataset}"
            )
    for check in checks:
        if not isinstance(check, Check) or check.label is None:
            continue
        scope = [d for d in datasets if check.dataset in (None, d.spec.name)]
        if check.model is not None:
            model = next((m for m in suite.models if m.name == check.model), None)
            scope = [d for d in scope if model is None or model.runs_on(d.spec.name)]
        lacking = [d for d in scope if check.label not in d.gold_labels]
        if lacking:
            d = lacking[0]
            known = ", ".join(sorted(d.gold_labels)) or "none"
            raise InputError(
                f"gate check {check.describe()!r}: the gold of {d.spec.name} has no {check.label} span "
                f"(its labels: {known}): fix the label, or scope the check to a dataset that has it"
            )


def _scope(name: str) -> tuple[str, str | None]:
    model, _, dataset = str(name).partition("/")
    return model, dataset or None


def plan_from_block(gate: Mapping[str, Any], path: Path) -> GatePlan:
    """The plan of a suite's ``gate:`` block; every problem names the suite file and line."""
    if not gate:
        raise InputError("the suite has no 'gate:' block: add one (see README, 'Gate')", path=path)
    top = {k: v for k, v in gate.items() if k not in ("models", "baseline", "max_drop")}
    checks: list[Check | DropCheck] = [*thresholds(top, model=None, dataset=None, path=path, node=gate)]
    models = gate.get("models") or {}
    if not isinstance(models, Mapping):
        raise InputError("gate: 'models' must map model (or model/dataset) names to thresholds", path=path,
                         line=line_of(gate, "models"))  # fmt: skip
    for name, values in models.items():
        if not isinstance(values, Mapping):
            raise InputError(f"gate: thresholds of {name!r} must be a mapping", path=path, line=line_of(models, name))
        model, dataset = _scope(name)
        checks += thresholds(values, model=model, dataset=dataset, path=path)
    baseline = gate.get("baseline")
    if "max_drop" in gate or baseline is not None:
        if baseline is None:
            raise InputError("gate: max_drop needs a baseline run", path=path, line=line_of(gate, "max_drop"))
        checks.append(DropCheck(_number(gate.get("max_drop", 0.0), "max_drop", path, gate, "max_drop", maximum=1.0)))
    if not checks:
        raise InputError("gate: the block sets no threshold", path=path, line=line_of(gate))
    return GatePlan(tuple(checks), str(baseline) if baseline is not None else None)


def plan_from_flags(flags: Mapping[str, float | None], label_f1: Sequence[str], baseline: str | None,
                    max_drop: float | None, extra: Sequence[str] = ()) -> GatePlan:  # fmt: skip
    """The plan of ``nerbench gate --gold``'s threshold flags (``label_f1`` and ``extra`` items are ``KEY=X``:
    a label and its F1, or any threshold key of the metric table, e.g. ``max_p99_ms=80``)."""
    values: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    for item in extra:
        key, sep, x = item.partition("=")
        try:
            values[key.strip()] = float(x)
        except ValueError:
            raise InputError(f"--threshold {item!r}: write KEY=X, e.g. min_recall=0.7") from None
        if not sep:
            raise InputError(f"--threshold {item!r}: write KEY=X, e.g. min_recall=0.7")
    labels = {}
    for item in label_f1:
        label, sep, x = item.partition("=")
        if label.strip() in labels:
            raise InputError(f"--min-label-f1: {label.strip()} is given twice; give each label once")
        try:
            labels[label.strip()] = float(x)
        except ValueError:
            raise InputError(f"--min-label-f1 {item!r}: write LABEL=X, e.g. ORG=0.7") from None
        if not sep or not label.strip():
            raise InputError(f"--min-label-f1 {item!r}: write LABEL=X, e.g. ORG=0.7")
    if labels:
        values["min_label_f1"] = labels
    checks: list[Check | DropCheck] = [*thresholds(values, model=None, dataset=None)]
    if max_drop is not None and baseline is None:
        raise InputError("--max-drop needs --baseline RUN (or latest)")
    if baseline is not None:
        checks.append(DropCheck(_number(max_drop or 0.0, "--max-drop", None, None, "max_drop", maximum=1.0)))
    if not checks:
        raise InputError("no check: pass at least one threshold (--min-f1, --max-p95-ms, ...) or --baseline")
    return GatePlan(tuple(checks), baseline)


def _scalar(text: str) -> Any:
    value = yaml.safe_load(text) if text else ""
    if isinstance(value, str) and value and Path(value).exists():
        return str(Path(value).resolve())
    return value


def model_spec(spec: str, label_map: str | None = None) -> ModelSpec:
    """A ModelSpec from ``ADAPTER[:KEY=VALUE,...]`` or a one-model YAML file, checked as a suite's model is.

    Every option is checked against the adapter's declared options before anything runs.
    """
    path = Path(spec)
    source: Path | None = None
    if path.suffix in (".yaml", ".yml") and path.exists():
        data, _ = load_yaml(path)
        if not isinstance(data, dict) or "adapter" not in data:
            raise InputError("a model file must be one mapping with at least 'adapter'", path=path)
        entry: dict[str, Any] = data
        source = path
    else:
        entry = _spec_entry(spec)
    adapter = str(entry["adapter"])
    if adapter not in adapter_names() and ":" not in adapter:
        raise InputError(f"--model: unknown adapter {adapter!r}: use one of {', '.join(adapter_names())}")
    if "name" not in entry:
        entry["name"] = adapter.rsplit(":", 1)[-1]
    chosen = label_map or entry.get("label_map")
    maps = {"*": load_label_map(chosen)} if chosen else {}
    return model_outside_suite(entry, path=source, base=Path.cwd(), label_maps=maps)


def _spec_entry(spec: str) -> dict[str, Any]:
    """``ADAPTER[:KEY=VALUE,...]`` as a model entry; the adapter may be ``package.module:Class``."""
    head, _, rest = spec.partition(":")
    if head not in adapter_names() and rest:  # package.module:Class[:KEY=VALUE,...]
        cls, _, rest = rest.partition(":")
        head = f"{head}:{cls}"
    entry: dict[str, Any] = {"adapter": head}
    for item in rest.split(",") if rest else ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--model {spec!r}: options are KEY=VALUE, separated by commas (got {item!r})")
        if key.strip() in entry:
            raise InputError(f"--model {spec!r}: {key.strip()} is given twice; give each option once")
        try:
            entry[key.strip()] = _scalar(value.strip())
        except yaml.YAMLError:
            raise InputError(
                f"--model {spec!r}: cannot read the value of {key.strip()} ({value.strip()!r}); a value holding "
                "commas (a list) goes in a model file: --model model.yaml"
            ) from None
    return entry


def _trains(adapter: str) -> bool:
    """Whether the adapter class always trains (a class importable only under another interpreter: unknown, no)."""
    try:
        return getattr(adapter_class(adapter), "trains", False) is True
    except ConfigError:
        return False


def gold_suite(gold: Path, model: ModelSpec, *, train: Path | None = None, fmt: str = "auto") -> Suite:
    """A one-model, one-dataset suite over a local gold file (built in memory, never written)."""
    if not gold.exists():
        raise InputError("gold file not found", path=gold)
    if train is not None and not train.exists():
        raise InputError("train file not found", path=train)
    if train is None and _trains(model.adapter):
        raise InputError(f"--model: adapter {model.adapter} trains on a train split: give --train FILE")
    dataset = DatasetSpec(gold.stem, DataRef(gold.resolve(), fmt), DataRef(train.resolve(), fmt) if train else None, {})
    raw = json.dumps({"gold": str(gold.resolve()), "train": str(train) if train else None, "adapter": model.adapter,
                      "options": model.options}, sort_keys=True, default=str)  # fmt: skip
    settings = Settings(latency_samples=20, warmup=2)
    return Suite(f"gate-{gold.stem}", Path.cwd() / "gate", raw, {}, (dataset,), (model,), settings, {}, {})
