"""Model families: one module each, found through the ``nerbench.models`` entry points."""

from __future__ import annotations

import difflib
import importlib
from functools import cache
from importlib.metadata import entry_points

from nerbench.adapters.models.base import ModelAdapter, ModelConfig, Usage
from nerbench.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "ModelAdapter", "ModelConfig", "Usage", "adapter_names", "create_adapter"]

ENTRY_POINT_GROUP = "nerbench.models"


@cache
def adapter_names() -> tuple[str, ...]:
    """Every registered adapter name (nothing is imported)."""
    return tuple(sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}))


def adapter_class(name: str) -> type[ModelAdapter]:
    """The adapter class registered as ``name`` (or imported from ``package.module:Class``).

    An unknown name says what exists; a class that cannot be imported is a one-line ConfigError.
    Adapter modules import their libraries lazily, so this is cheap (the suite loader calls it
    for every model to check its options).
    """
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
            found: type[ModelAdapter] = getattr(module, attr)
        except (ImportError, AttributeError) as err:
            raise ConfigError(f"cannot import adapter {name!r}: {err}") from None
        except Exception as err:  # a module that fails while importing: still one line
            raise ConfigError(f"cannot import adapter {name!r}: {type(err).__name__}: {err}") from None
        if not isinstance(found, type):
            raise ConfigError(f"adapter {name!r} is not a class: give package.module:Class")
        return found
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            cls: type[ModelAdapter] = ep.load()
            return cls
    close = difflib.get_close_matches(name, adapter_names(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown adapter {name!r}{hint}: use one of {', '.join(adapter_names())}")


def create_adapter(config: ModelConfig) -> ModelAdapter:
    """A new, unloaded adapter for ``config`` (its library is imported in ``load``)."""
    return adapter_class(config.adapter)(config)
