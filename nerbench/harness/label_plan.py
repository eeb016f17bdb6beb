"""``label_map: auto``, resolved once the datasets are read and before any model starts.

For each model and each dataset whose map the suite leaves to ``auto``, the built-in map from the
model's vocabulary (its own ``vocabulary:``, else its adapter's) into the dataset's labels is chosen
(see :func:`nerbench.labels.auto_map`), or none where the labels already fit. Two built-in maps that
fit equally well are a configuration error naming both, raised before anything is spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from nerbench.adapters.models import adapter_class
from nerbench.errors import ConfigError, InputError
from nerbench.harness.loading import LoadedDataset
from nerbench.harness.suite import ModelSpec, Suite
from nerbench.labels import OPEN, LabelMap, auto_map


def adapter_vocabulary(adapter: str) -> str:
    """The vocabulary an adapter declares (``open`` where it declares none or cannot be imported here)."""
    try:
        return str(getattr(adapter_class(adapter), "vocabulary", OPEN))
    except ConfigError:
        return OPEN  # a python: model whose adapter only its own interpreter can import


def resolve_model(model: ModelSpec, datasets: Sequence[LoadedDataset], suite: Suite) -> ModelSpec:
    """The model with a map (or None) recorded for every dataset it runs on."""
    vocabulary = model.vocabulary or adapter_vocabulary(model.adapter)
    maps: dict[str, LabelMap | None] = dict(model.label_maps)
    for dataset in datasets:
        name = dataset.spec.name
        if not model.runs_on(name) or model.map_given_for(name):
            continue
        try:
            chosen = auto_map(vocabulary, dataset.labels)
        except ConfigError as err:
            raise InputError(f"model {model.name!r} on dataset {name!r}: {err}", path=suite.path) from None
        maps[name] = replace(chosen, auto=True) if chosen is not None else None
    return replace(model, label_maps=maps, vocabulary=vocabulary)


def resolve_label_maps(suite: Suite, datasets: Sequence[LoadedDataset]) -> Suite:
    """The suite with every ``auto`` label map decided."""
    return replace(suite, models=tuple(resolve_model(m, datasets, suite) for m in suite.models))
