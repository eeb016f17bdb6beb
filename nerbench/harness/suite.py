"""Suite file (YAML) -> a validated plan: the schema, the datasets, the models, the settings.

Paths are relative to the suite file. ``${VAR}`` in a value is replaced from the
environment when the suite is loaded (for endpoints); every expanded value is handed
to :mod:`nerbench.redact`, so what a run writes or prints says ``${VAR}`` again, and
the run records the suite's raw text. Names (of the suite, its models and datasets)
are written into every output and file name, so they cannot use ``${VAR}``; nor may
two names give one file name.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import nerbench.limits as limits
import nerbench.redact as redact
from nerbench.adapters.data import formats
from nerbench.adapters.models import adapter_names
from nerbench.adapters.models.options import OptionError
from nerbench.errors import ConfigError, InputError
from nerbench.harness.model_entry import check_adapter, line_at, runner_fields
from nerbench.harness.names import cell_clash, file_clash, name_problem
from nerbench.harness.reader_options import reader_option_problem
from nerbench.harness.yamlfile import line_of, load_yaml
from nerbench.labels import LabelMap, load_label_map

AUTO, NO_MAP = "auto", "none"  # label_map values: pick a built-in map from the vocabulary; use labels as they are
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Model keys the runner reads; every other key of a model entry is an adapter option.
RUNNER_MODEL_KEYS = (
    "name", "adapter", "label_map", "python", "gold_tokens", "train", "timeout_s", "datasets", "if_installed",
    "vocabulary", "replicas", "num_cpus", "num_gpus",
)  # fmt: skip
READER_KEYS = ("scheme", "repair", "group", "tag_column")  # reader options a dataset entry may give at its top


@dataclass(frozen=True)
class DataRef:
    """A gold file and how to read it."""

    path: Path
    format: str = "auto"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the suite: its test data, optional train split, and its schema."""

    name: str
    test: DataRef
    train: DataRef | None
    schema: Mapping[str, str]


@dataclass(frozen=True)
class ModelSpec:
    """One model of the suite: adapter, adapter options, and what the runner needs."""

    name: str
    adapter: str
    options: Mapping[str, Any]
    label_maps: Mapping[str, LabelMap | None]  # dataset name -> map ("*" for every dataset)
    python: str | None = None
    gold_tokens: bool = False
    train: str | None = None  # a dataset name whose train split this model learns from
    timeout_s: float | None = None
    datasets: tuple[str, ...] | None = None  # run only on these datasets (default: all)
    if_installed: tuple[str, ...] = ()  # Python modules the model needs: where one is missing it is skipped, not failed
    vocabulary: str | None = None  # overrides the adapter's declared vocabulary (a hub model fine-tuned on CoNLL)
    replicas: int = 1  # workers sharing each throughput pass (latency is measured on the first alone)
    num_cpus: float | None = None  # a Ray actor's CPUs (default 1); the local executor does not use it
    num_gpus: float | None = None  # a Ray actor's GPUs, fractions allowed (default 0)

    def runs_on(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets

    def label_map_for(self, dataset: str) -> LabelMap | None:
        return self.label_maps.get(dataset, self.label_maps.get("*"))

    def map_given_for(self, dataset: str) -> bool:
        """True when the suite names this dataset's map (or ``none``); else the runner picks one (``auto``)."""
        return dataset in self.label_maps or "*" in self.label_maps


@dataclass(frozen=True)
class Settings:
    """How the runner measures."""

    batch_size: int = 32
    latency_samples: int = 50
    warmup: int = 3
    bootstrap: int = 1000
    timeout_s: float = 600.0
    seed: int = 0
    stability_passes: int = 1
    instance_usd_per_hour: float = 0.0
    gpu_usd_per_hour: float = 0.0
    max_failed_share: float = 0.5  # a cell with more of its documents failed is ``failed``, not a result
    min_overlap: float = 0.5  # relaxed matching: the overlap a boundary error needs to count as correct
    overlap_measure: str = "gold"  # what min_overlap is a share of: the gold span ("gold") or the union ("iou")
    min_overlap_by_label: Mapping[str, float] = field(default_factory=dict)  # per-label min_overlap


@dataclass(frozen=True)
class Suite:
    """A validated suite file."""

    name: str
    path: Path
    raw_text: str
    schema: Mapping[str, str]
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]
    settings: Settings
    pricing: Mapping[str, Any]
    gate: Mapping[str, Any]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.raw_text.encode("utf-8")).hexdigest()[:16]

    def select(self, *, models: list[str] | None = None, datasets: list[str] | None = None) -> Suite:
        """The same suite restricted to the named models and datasets (unknown names are errors)."""
        for kind, wanted, have in (("model", models, self.models), ("dataset", datasets, self.datasets)):
            unknown = set(wanted or ()) - {x.name for x in have}
            if unknown:
                names = ", ".join(x.name for x in have)
                raise ConfigError(f"unknown {kind}(s) {', '.join(sorted(unknown))}: this suite has {names}")
        return Suite(
            self.name, self.path, self.raw_text, self.schema,
            tuple(d for d in self.datasets if not datasets or d.name in datasets),
            tuple(m for m in self.models if not models or m.name in models),
            self.settings, self.pricing, self.gate,
        )  # fmt: skip


class _Where:
    """Builds errors that name the suite file and the line of the offending entry."""

    def __init__(self, path: Path, *, named: bool = True) -> None:
        self.path = path
        self.named = named  # False: the entry came from the command line, so no file or line is named

    def error(self, problem: str, node: Any = None, key: str | None = None, *, line: int | None = None) -> InputError:
        if not self.named:
            return InputError(problem)
        return InputError(problem, path=self.path, line=line if line is not None else line_of(node, key))


def _expand_env(value: Any, where: _Where, node: Any = None, *, found: dict[str, str] | None = None) -> Any:
    """``value`` with each ``${VAR}`` replaced from the environment; ``found`` collects what was expanded."""
    found = {} if found is None else found
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise where.error(f"environment variable {name} is not set (used as ${{{name}}})", node)
            found[name] = os.environ[name]
            return os.environ[name]

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        out = type(value)()
        out.__dict__.update(getattr(value, "__dict__", {}))
        for k, v in value.items():
            out[k] = _expand_env(v, where, value, found=found)
        return out
    if isinstance(value, list):
        return [_expand_env(v, where, node, found=found) for v in value]
    return value


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; every problem is an InputError naming file and line."""
    path = Path(path)
    data, raw = load_yaml(path)
    where = _Where(path)
    if not isinstance(data, dict):
        raise where.error("a suite file must be a mapping with schema, datasets and models")
    unknown = set(data) - {"name", "schema", "datasets", "models", "settings", "pricing", "gate"}
    if unknown:
        key = sorted(unknown)[0]
        raise where.error(
            f"unknown top-level key {key!r}: use name, schema, datasets, models, settings, pricing, gate", data, key
        )
    _names_unexpanded(data, where)
    expanded: dict[str, str] = {}
    data = _expand_env(data, where, data, found=expanded)
    for name, value in expanded.items():  # before any check: an error message never shows a value
        redact.remember(name, value, written=raw)
    schema = _schema(data.get("schema"), where, data)
    dataset_entries, model_entries = _list(data, "datasets", where), _list(data, "models", where)
    datasets = tuple(_dataset(d, i, path.parent, schema, where) for i, d in enumerate(dataset_entries))
    _unique([d.name for d in datasets], "dataset", where, dataset_entries)
    models = tuple(_model(m, where, datasets) for m in model_entries)
    _unique([m.name for m in models], "model", where, model_entries)
    _cell_files_unique(models, datasets, where, model_entries)
    return Suite(
        name=str(data.get("name") or path.stem), path=path, raw_text=raw, schema=schema, datasets=datasets,
        models=models, settings=_settings(data.get("settings") or {}, where),
        pricing=_mapping(data.get("pricing") or {}, "pricing", where, data),
        gate=_gate(data, where),
    )  # fmt: skip


def _gate(data: Mapping[str, Any], where: _Where) -> Mapping[str, Any]:
    """The raw ``gate:`` block, kept as read so the gate's errors can name its lines."""
    gate = data.get("gate") or {}
    if not isinstance(gate, dict):
        raise where.error("'gate' must be a mapping", data, "gate")
    return gate


def _list(data: Mapping[str, Any], key: str, where: _Where) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise where.error(f"'{key}' must be a non-empty list", data, key)
    return value


def _mapping(value: Any, what: str, where: _Where, node: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(f"'{what}' must be a mapping", node, what)
    return dict(value)


def _names_unexpanded(data: Mapping[str, Any], where: _Where) -> None:
    """Names are written into every output and file name: a ``${VAR}`` there would write its value out."""
    entries: list[tuple[Mapping[str, Any], str]] = [(data, "suite")]
    for key, kind in (("datasets", "dataset"), ("models", "model")):
        listed = data.get(key)
        entries += [(e, kind) for e in (listed if isinstance(listed, list) else []) if isinstance(e, dict)]
    for entry, kind in entries:
        name = entry.get("name")
        if isinstance(name, str) and _ENV.search(name):
            raise where.error(
                f"{kind} name {name!r} uses ${{VAR}}: names are written into every result and file name, "
                "so they cannot come from the environment; write the name out", entry, "name",
            )  # fmt: skip


def _name(value: Mapping[str, Any], kind: str, where: _Where) -> str:
    """A model's or dataset's name, fit to become a file name."""
    name = str(value["name"])
    problem = name_problem(name, kind)
    if problem:
        raise where.error(problem, value, "name")
    return name


def _entry_named(entries: list[Any], name: str) -> Any:
    """The last entry called ``name`` (the second of two alike), for its line."""
    return next((e for e in reversed(entries) if isinstance(e, dict) and str(e.get("name")) == name), None)


def _unique(names: list[str], kind: str, where: _Where, entries: list[Any]) -> None:
    clash = file_clash(names, kind)
    if clash:
        raise where.error(clash[0], _entry_named(entries, clash[1]), "name")


def _cell_files_unique(
    models: tuple[ModelSpec, ...], datasets: tuple[DatasetSpec, ...], where: _Where, entries: list[Any]
) -> None:
    cells = [(m.name, d.name) for m in models for d in datasets if m.runs_on(d.name)]
    clash = cell_clash(cells)
    if clash:
        raise where.error(clash[0], _entry_named(entries, clash[1]), "name")


def _schema(value: Any, where: _Where, node: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list):
        value = {str(label): "" for label in value}
    if not isinstance(value, dict) or not all(isinstance(v, str | None) for v in value.values()):
        raise where.error("'schema' must map each label to a one-line description", node, "schema")
    return {str(k): v or "" for k, v in value.items()}


def _data_ref(value: Any, base: Path, where: _Where, node: Any, key: str) -> DataRef:
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, dict) or not isinstance(value.get("path"), str) or not value["path"]:
        raise where.error(f"'{key}' must be a path or a mapping with 'path'", node, key)
    line_node = value if isinstance(value, dict) and "path" in getattr(value, "lines", {}) else node
    path = base / value["path"]
    if not _exists(path):
        raise where.error(
            f"{key} file {value['path']!r} does not exist (paths are relative to the suite file)", line_node,
            "path" if line_node is value else key,
        )  # fmt: skip
    fmt = value.get("format", "auto")
    if not isinstance(fmt, str) or (fmt != "auto" and fmt not in formats()):
        raise where.error(f"unknown format {fmt!r}: use one of {', '.join(formats())} or auto", value, "format")
    options = value.get("options") or {}
    if not isinstance(options, dict):
        raise where.error("'options' must be a mapping of reader options", value, "options")
    options = {**options, **{k: value[k] for k in READER_KEYS if k in value}}
    _check_reader_options(options, where, value)
    return DataRef(path.resolve(), fmt, options)


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a name no file system accepts (a NUL byte, too long) does not."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _check_reader_options(options: dict[str, Any], where: _Where, entry: Any) -> None:
    """Reader options given in a suite, checked by name, type and value before anything is read."""
    problem = reader_option_problem(options)
    if problem:
        key, text = problem
        nested = entry.get("options") if isinstance(entry.get("options"), dict) else {}
        node = entry if key is None or key in entry else nested
        raise where.error(text, node, key)


def _dataset(value: Any, index: int, base: Path, schema: dict[str, str], where: _Where) -> DatasetSpec:
    if not isinstance(value, dict) or "name" not in value or "path" not in value:
        raise where.error(f"dataset {index + 1} must be a mapping with at least 'name' and 'path'", value)
    name = _name(value, "dataset", where)
    allowed = {"name", "path", "format", "options", *READER_KEYS, "train", "schema"}
    for key in value:
        if key not in allowed:
            raise where.error(f"dataset {name!r}: unknown key {key!r}", value, key)
    test = _data_ref(value, base, where, value, "path")
    train = _data_ref(value["train"], base, where, value, "train") if value.get("train") else None
    own = _schema(value.get("schema"), where, value)
    if own and any(not d for d in own.values()):
        own = {k: d or schema.get(k, "") for k, d in own.items()}
    return DatasetSpec(name, test, train, own or schema)


def _model(
    value: Any, where: _Where, datasets: tuple[DatasetSpec, ...], *,
    label_maps: Mapping[str, LabelMap | None] | None = None, base: Path | None = None,
) -> ModelSpec:  # fmt: skip
    """One model entry, every key checked before anything runs (see :mod:`nerbench.harness.model_entry`).

    ``label_maps`` (already loaded) and ``base`` (what relative paths are relative to; default the
    suite's directory) are given by ``nerbench gate --model``.
    """
    if not isinstance(value, dict) or "name" not in value or "adapter" not in value:
        raise where.error("each model must be a mapping with at least 'name' and 'adapter'", value)
    name, adapter = _name(value, "model", where), str(value["adapter"])
    if adapter not in adapter_names() and ":" not in adapter:
        import difflib

        close = difflib.get_close_matches(adapter, adapter_names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise where.error(
            f"model {name!r}: unknown adapter {adapter!r}{hint}: use one of {', '.join(adapter_names())}",
            value,
            "adapter",
        )
    base = where.path.parent if base is None else base
    options = {k: _resolve_paths(v, base) for k, v in value.items() if k not in RUNNER_MODEL_KEYS}
    try:
        runner = runner_fields(value, name=name, trains_on={d.name: d.train is not None for d in datasets})
        check_adapter(adapter, options, name=name, python=runner["python"], if_installed=runner["if_installed"])
    except OptionError as err:
        raise where.error(str(err), line=line_at(value, err.key)) from None
    maps = _label_maps(value, where, datasets) if label_maps is None else label_maps
    return ModelSpec(name=name, adapter=adapter, options=options, label_maps=maps, **runner)


def model_outside_suite(
    entry: Mapping[str, Any], *, path: Path | None, base: Path, label_maps: Mapping[str, LabelMap | None]
) -> ModelSpec:
    """A model entry given outside a suite (``nerbench gate --model``), with the suite's checks.

    ``path`` is the YAML file it was read from (None: the command line); paths in options are relative to ``base``.
    """
    where = _Where(path) if path is not None else _Where(base, named=False)
    return _model(entry, where, (), label_maps=label_maps, base=base)


def _resolve_paths(value: Any, base: Path) -> Any:
    """Option values that name a file or directory beside the suite become absolute paths.

    Workers run in the caller's directory; a suite's relative paths mean "relative to the suite file".
    """
    if isinstance(value, list):
        return [_resolve_paths(v, base) for v in value]
    if isinstance(value, str) and value and not Path(value).is_absolute() and "\n" not in value:
        candidate = base / value
        if (value.startswith((".", "/")) or "/" in value or Path(value).suffix) and _exists(candidate):
            return str(candidate.resolve())
    return value


def _label_maps(value: dict[str, Any], where: _Where, datasets: tuple[DatasetSpec, ...]) -> dict[str, LabelMap | None]:
    """The maps a model entry names, by dataset (``*``: every dataset); a dataset left out gets ``auto``.

    ``auto`` (or no ``label_map``) lets the runner pick a built-in map from the adapter's vocabulary once the
    datasets' labels are read; ``none`` means the model's labels are used as they are.
    """
    spec = value.get("label_map")
    if spec is None or spec == AUTO:
        return {}
    by_dataset = {d.name: d for d in datasets}
    is_per_dataset = isinstance(spec, dict) and spec and set(spec) <= set(by_dataset)
    entries = spec if is_per_dataset else {"*": spec}
    maps: dict[str, LabelMap | None] = {}
    for dataset, entry in entries.items():
        if entry == AUTO:
            continue
        if entry == NO_MAP:
            maps[dataset] = None
            continue
        if not isinstance(entry, str | dict):
            raise where.error(
                f"model {value['name']!r}: label_map must be auto, none, a built-in map name, a file, a mapping, "
                f"or a mapping of dataset names to those, got {entry!r}", value, "label_map",
            )  # fmt: skip
        try:
            label_map = load_label_map(entry if not isinstance(entry, str) else _relative(entry, where))
        except ConfigError as err:
            raise where.error(f"model {value['name']!r}: {err}", value, "label_map") from None
        targets = [by_dataset[dataset]] if dataset != "*" else list(datasets)
        for ds in targets:
            unknown = sorted(label_map.targets() - set(ds.schema)) if ds.schema else []
            if unknown and dataset != "*":
                raise where.error(
                    f"model {value['name']!r}: label map sends labels to {', '.join(unknown)}, "
                    f"which dataset {ds.name!r}'s schema does not have", value, "label_map",
                )  # fmt: skip
        if dataset == "*" and all(d.schema for d in datasets):
            union = set().union(*(d.schema for d in datasets))
            unknown = sorted(label_map.targets() - union)
            if unknown:
                raise where.error(
                    f"model {value['name']!r}: label map sends labels to {', '.join(unknown)}, which no dataset "
                    "schema has", value, "label_map",
                )  # fmt: skip
        maps[dataset] = label_map
    return maps


def _relative(spec: str, where: _Where) -> str:
    candidate = where.path.parent / spec
    return str(candidate) if candidate.exists() else spec


def _settings(value: Any, where: _Where) -> Settings:
    if not isinstance(value, dict):
        raise where.error("'settings' must be a mapping", value)
    known = {f.name: f for f in fields(Settings)}
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        if key not in known:
            raise where.error(f"unknown setting {key!r}: use one of {', '.join(known)}", value, key)
        if key in _OVERLAP_SETTINGS:
            kwargs[key] = _overlap_setting(key, item, where, value)
            continue
        kind: type[float] | type[int] = float if isinstance(known[key].default, float) else int
        if not isinstance(item, int | float) or isinstance(item, bool) or (kind is int and not isinstance(item, int)):
            whole = " (a whole one)" if kind is int else ""
            raise where.error(f"setting {key!r} must be a number{whole}, got {item!r}", value, key)
        if isinstance(item, float) and not math.isfinite(item):
            raise where.error(f"setting {key!r} must be a finite number, got {item!r}", value, key)
        if item < 0:
            raise where.error(f"setting {key!r} must not be negative", value, key)
        limit = limits.SETTINGS.get(key)
        if limit is not None and item > limit:
            raise where.error(f"setting {key!r} must be at most {limits.shown(limit)}, got {item:,}", value, key)
        kwargs[key] = kind(item)
    if kwargs.get("batch_size", 1) < 1 or kwargs.get("stability_passes", 1) < 1:
        raise where.error("batch_size and stability_passes must be at least 1", value)
    return Settings(**kwargs)


_OVERLAP_SETTINGS = ("overlap_measure", "min_overlap_by_label")


def _overlap_setting(key: str, item: Any, where: _Where, node: Any) -> Any:
    """``overlap_measure: gold|iou``; ``min_overlap_by_label: {LABEL: share}``."""
    if key == "overlap_measure":
        if item not in ("gold", "iou"):
            raise where.error(f"setting 'overlap_measure' must be gold or iou, got {item!r}", node, key)
        return item
    ok = isinstance(item, dict) and all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
        for k, v in item.items()
    )
    if not ok:
        raise where.error(
            "setting 'min_overlap_by_label' must map labels to shares from 0 to 1, e.g. {DATE: 0.8}", node, key
        )
    return {str(k): float(v) for k, v in item.items()}
