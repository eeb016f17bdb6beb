"""One model entry of a suite, checked before anything runs: the runner's keys, the adapter, its options.

The suite loader (and ``nerbench gate --model``) calls these for every model before
any worker starts. Every problem is an :class:`~nerbench.adapters.models.options.OptionError`
whose ``key`` is where it sits in the entry (``("c1",)``, ``("finetune", "epochs")``),
so the caller names the line; :func:`line_at` finds it.

The adapter class is imported here (adapter modules import their libraries lazily,
so this is cheap) and the options are parsed and checked against its declared
``Options`` (:func:`~nerbench.adapters.models.options.validate_options`; an adapter
that declares none gets its options passed through unchecked). A
``package.module:Class`` that does not import here:

- is left to the runner when a module of the model's ``if_installed`` is missing
  (the runner skips the model with a note, as it always has);
- under ``python:`` (another interpreter) is imported by that interpreter in a
  subprocess: a failure there is the error; a success means the class lives only
  there, so its options are passed through unchecked (the worker's adapter still
  parses them); an interpreter that cannot be started is left to the runner, whose
  cell failure names it;
- otherwise is the error.
"""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Mapping
from typing import Any

from nerbench.adapters.models import adapter_class
from nerbench.adapters.models.options import Key, OptionError, validate_options
from nerbench.errors import ConfigError
from nerbench.harness.machine import missing_modules
from nerbench.harness.yamlfile import line_of
from nerbench.labels import VOCABULARY_NAMES
from nerbench.limits import MAX_REPLICAS, MAX_RESOURCE, MAX_TIMEOUT_S

_IMPORT_PROBE = "import importlib, sys\nm, _, a = sys.argv[1].partition(':')\ngetattr(importlib.import_module(m), a)"


def runner_fields(value: Mapping[str, Any], *, name: str, trains_on: Mapping[str, bool]) -> dict[str, Any]:
    """The runner's keys of a model entry, checked, as ModelSpec fields.

    ``trains_on`` maps each dataset of the suite to whether it has a train split.
    """
    train = value.get("train")
    if train is not None and not trains_on.get(train, False):
        raise OptionError(f"model {name!r}: 'train' must name a dataset of this suite that has a train split",
                          key=("train",))  # fmt: skip
    only = value.get("datasets")
    if only is not None:
        only = [only] if isinstance(only, str) else only
        if not isinstance(only, list) or not all(isinstance(d, str) and d in trains_on for d in only):
            raise OptionError(f"model {name!r}: 'datasets' must list dataset names of this suite", key=("datasets",))
    needs = value.get("if_installed", [])
    needs = [needs] if isinstance(needs, str) else needs
    if not isinstance(needs, list) or not all(isinstance(n, str) and n for n in needs):
        raise OptionError(f"model {name!r}: 'if_installed' must list Python module names (e.g. en_core_web_md)",
                          key=("if_installed",))  # fmt: skip
    return {
        "train": train, "datasets": tuple(only) if only is not None else None, "if_installed": tuple(needs),
        **_runner_scalars(value, name=name), **_scale_keys(value, name=name),
    }  # fmt: skip


def _scale_keys(value: Mapping[str, Any], *, name: str) -> dict[str, Any]:
    """``replicas`` (workers sharing the throughput pass), ``num_cpus`` and ``num_gpus`` (a Ray actor's)."""
    replicas = value.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or not 1 <= replicas <= MAX_REPLICAS:
        raise OptionError(f"model {name!r}: 'replicas' must be a whole number of workers from 1 to "
                          f"{MAX_REPLICAS:,}, got {replicas!r}", key=("replicas",))  # fmt: skip
    resources: dict[str, float | None] = {}
    for key in ("num_cpus", "num_gpus"):
        amount = value.get(key)
        ok = amount is None or (
            isinstance(amount, int | float) and not isinstance(amount, bool) and 0 <= amount <= MAX_RESOURCE
        )
        if not ok:
            raise OptionError(f"model {name!r}: '{key}' must be a number from 0 to {MAX_RESOURCE:g} (fractions "
                              f"allowed: 0.5 shares a GPU by two workers), got {amount!r}", key=(key,))  # fmt: skip
        resources[key] = None if amount is None else float(amount)
    return {"replicas": replicas, **resources}


def _runner_scalars(value: Mapping[str, Any], *, name: str) -> dict[str, Any]:
    python, gold, timeout, vocabulary = (value.get(k) for k in ("python", "gold_tokens", "timeout_s", "vocabulary"))
    if python is not None and (not isinstance(python, str) or not python):
        raise OptionError(f"model {name!r}: 'python' must be the path of a Python interpreter, got {python!r}",
                          key=("python",))  # fmt: skip
    if gold is not None and not isinstance(gold, bool):
        raise OptionError(f"model {name!r}: 'gold_tokens' must be true or false (a YAML boolean), got {gold!r}",
                          key=("gold_tokens",))  # fmt: skip
    if timeout is not None and not _positive_number(timeout):
        raise OptionError(f"model {name!r}: 'timeout_s' must be a number of seconds above 0 and at most "
                          f"{MAX_TIMEOUT_S:,.0f} (30 days), got {timeout!r}", key=("timeout_s",))  # fmt: skip
    if vocabulary is not None and (not isinstance(vocabulary, str) or vocabulary not in VOCABULARY_NAMES):
        close = difflib.get_close_matches(str(vocabulary), VOCABULARY_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise OptionError(
            f"model {name!r}: unknown vocabulary {vocabulary!r}{hint}: use one of {', '.join(VOCABULARY_NAMES)}",
            key=("vocabulary",),
        )
    return {
        "python": python, "gold_tokens": bool(gold), "timeout_s": None if timeout is None else float(timeout),
        "vocabulary": vocabulary,
    }  # fmt: skip


def _positive_number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return 0 < value <= MAX_TIMEOUT_S


def check_adapter(adapter: str, options: Mapping[str, Any], *, name: str, python: str | None = None,
                  if_installed: tuple[str, ...] = ()) -> None:  # fmt: skip
    """Import the adapter class and check ``options`` against its declared ``Options`` (see the module docstring)."""
    try:
        cls = adapter_class(adapter)
    except ConfigError as err:
        problem = _import_problem(adapter, str(err), python, if_installed)
        if problem is not None:
            raise OptionError(f"model {name!r}: {problem}", key=("adapter",)) from None
        return
    parsed = validate_options(cls, options, where=f"model {name!r} (adapter {adapter})")
    needed = parsed.modules() if parsed is not None else {}
    if needed and not (if_installed and missing_modules(list(if_installed), python)):
        for module in (m for m in missing_modules(list(needed), python) if m in needed):
            where = f" with {python}" if python else ""
            raise OptionError(
                f"model {name!r}: {module!r} (option {needed[module]!r}) is not installed{where}: install it, "
                "or fix the name",
                key=(needed[module],),
            )


def _import_problem(adapter: str, problem: str, python: str | None, if_installed: tuple[str, ...]) -> str | None:
    """The error of a class this interpreter cannot import, or None when it is left to the runner."""
    if ":" not in adapter:
        return problem
    if if_installed and missing_modules(list(if_installed), python):
        return None
    if python is None:
        return problem
    try:
        probe = subprocess.run([python, "-c", _IMPORT_PROBE, adapter], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["it exited with an error"])[-1]
        return f"cannot import adapter {adapter!r} with {python}: {last[:300]}"
    return None


def line_at(entry: Any, key: Key) -> int | None:
    """The line of the innermost mapping key of ``key`` found in ``entry`` (read by ``load_yaml``)."""
    line, node = line_of(entry), entry
    for part in key:
        if isinstance(node, Mapping) and isinstance(part, str) and part in node:
            line = line_of(node, part) or line
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = line_of(node) or line
        else:
            break
    return line
