"""Declared adapter options: one frozen dataclass per adapter, parsed and checked before anything runs.

An adapter states its options in one frozen, keyword-only dataclass deriving from
:class:`AdapterOptions`, next to the adapter, and names it in the ClassVar ``Options``::

    @dataclass(frozen=True, kw_only=True)
    class CrfOptions(AdapterOptions):
        c1: float = field(default=0.1, metadata=about("L1 regularisation", ge=0))
        model: Path | None = field(default=None, metadata=about("an already trained .crfsuite file"))

    class CrfAdapter:
        Options: ClassVar[type[AdapterOptions]] = CrfOptions

        def __init__(self, config: ModelConfig) -> None:
            self.options = parse_config(CrfOptions, config)

A field's annotation is the option's type: ``str``, ``int``, ``float`` (an int is
accepted), ``bool`` (YAML ``true``/``false`` only: the string ``'no'`` is an
error), ``Path`` (a string), ``Literal[...]`` (the allowed values), ``X | None``,
``tuple[X, ...]`` (a YAML list), ``dict[str, X]`` (a mapping), ``Any``, or another
options class (a nested mapping, such as ``finetune: {base: ..., epochs: ...}``).
Its default is the option's default (none: the option is required); :func:`about`
makes its metadata: the one-line help and bounds (``ge``, ``gt``, ``le``, ``lt``).

:func:`parse_options` turns the raw mapping of a suite entry into the typed
instance. Every problem is an :class:`OptionError` naming the option: an unknown
key says "did you mean" and lists the known options; a wrong type names the
expected type and the value. Checks happen in two stages:

- ``__post_init__`` (every parse, also in the worker): checks across fields that
  need nothing but the values (give ``patterns`` or ``regex``; ``model`` or ``finetune``);
- :meth:`AdapterOptions.check` (the suite loader and ``nerbench gate``, before any
  worker starts): checks that need the file system but no model library (a file
  exists, a regular expression compiles, a URL is well formed).

An adapter without an ``Options`` class (a third party's) gets its options passed
through unchecked: see :func:`validate_options`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from nerbench.adapters.models.base import ModelConfig
from nerbench.errors import ConfigError

Key = tuple[str | int, ...]  # where an option sits: ("c1",), ("finetune", "epochs"), ("regex", 0, "pattern")
OptionsT = TypeVar("OptionsT", bound="AdapterOptions")


class OptionError(ConfigError):
    """A bad adapter option; ``key`` is where it sits in the model's entry (for the suite file's line)."""

    def __init__(self, problem: str, *, key: Key = (), where: str = "") -> None:
        self.problem, self.key, self.where = problem, key, where
        super().__init__(f"{where}: {problem}" if where else problem)

    def located(self, where: str) -> OptionError:
        """The same error said of ``where`` (e.g. ``model 'm' (adapter crf)``)."""
        return OptionError(self.problem, key=self.key, where=where)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AdapterOptions:
    """Base of every adapter's options class (see the module docstring)."""

    # Keys that are not options of this class, with where they belong instead (said when one is given).
    elsewhere: ClassVar[Mapping[str, str]] = {}

    def check(self) -> None:
        """Checks needing the file system but no model library; raise :class:`OptionError` naming the option."""

    def modules(self) -> Mapping[str, str]:
        """Python modules these options name that the model's interpreter must be able to import (a spaCy
        pipeline package), each with the option naming it: checked before anything runs, in that interpreter."""
        return {}


def about(help: str, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
        lt: float | None = None) -> dict[str, Any]:  # fmt: skip
    """A declared option's field metadata: its one line of help and bounds (``ge`` >=, ``gt`` >, ``le`` <=, ``lt`` <).

    Used as ``c1: float = field(default=0.1, metadata=about("L1 regularisation", ge=0))``.
    """
    return {"help": help, "ge": ge, "gt": gt, "le": le, "lt": lt}


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One declared option, for listings and documentation."""

    name: str
    type: str
    default: str
    help: str


def describe_options(cls: type[AdapterOptions]) -> list[OptionInfo]:
    """The declared options of ``cls`` in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        out.append(OptionInfo(f.name, type_name(hints[f.name]), default, str(f.metadata.get("help", ""))))
    return out


def option_names(cls: type[AdapterOptions]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def parse_options(cls: type[OptionsT], raw: Mapping[str, Any], *, where: str = "", key: Key = ()) -> OptionsT:
    """The typed options of ``cls`` from a raw mapping; an :class:`OptionError` for the first problem.

    ``where`` prefixes messages (``model 'm' (adapter crf)``); ``key`` is where ``raw`` sits
    when it is nested in another option.
    """
    try:
        return _parse(cls, raw, key)
    except OptionError as err:
        raise err.located(where) from None


def parse_config(cls: type[OptionsT], config: ModelConfig) -> OptionsT:
    """The options of a :class:`~nerbench.adapters.models.base.ModelConfig`, said of its model and adapter."""
    return parse_options(cls, config.options, where=f"model {config.name!r} (adapter {config.adapter})")


def validate_options(adapter: type, raw: Mapping[str, Any], *, where: str = "") -> AdapterOptions | None:
    """Parse and :meth:`~AdapterOptions.check` ``raw`` against the adapter class's declared ``Options``.

    An adapter class without ``Options`` (a third-party adapter that declares none)
    gets its options passed through unchecked: None.
    """
    cls = getattr(adapter, "Options", None)
    if not (isinstance(cls, type) and issubclass(cls, AdapterOptions)):
        return None
    parsed = parse_options(cls, raw, where=where)
    try:
        parsed.check()
    except OptionError as err:
        raise err.located(where) from None
    return parsed


def _parse(cls: type[OptionsT], raw: Mapping[str, Any], key: Key) -> OptionsT:
    if not isinstance(raw, Mapping):
        raise OptionError(f"option {_name(key)} must be a mapping, got {raw!r}", key=key)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for name in raw:
        if name not in known:
            raise OptionError(_unknown(cls, str(name), key), key=(*key, str(name)))
    values = {}
    for name, f in known.items():
        if name in raw:
            values[name] = _checked(raw[name], hints[name], f.metadata, (*key, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise OptionError(f"option {_name((*key, name))} is required ({f.metadata.get('help', '')})", key=key)
    try:
        return cls(**values)
    except OptionError as err:  # a check across fields in __post_init__
        if key and err.key[: len(key)] != key:
            raise OptionError(err.problem, key=(*key, *err.key)) from None
        raise


def _unknown(cls: type[AdapterOptions], name: str, key: Key) -> str:
    if name in cls.elsewhere:
        return f"{_name((*key, name))} is not an option here: {cls.elsewhere[name]}"
    names = option_names(cls)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = ", ".join(names) if names else "none"
    return f"unknown option {_name((*key, name))}{hint}: the options are {known}"


def _checked(value: Any, hint: Any, metadata: Mapping[str, Any], key: Key) -> Any:
    converted = _convert(value, hint, key)
    if isinstance(converted, int | float) and not isinstance(converted, bool):
        for bound, fails, words in _BOUNDS:
            limit = metadata.get(bound)
            if limit is not None and fails(converted, limit):
                raise OptionError(f"option {_name(key)} must be {words} {limit:g}, got {value!r}", key=key)
    return converted


_BOUNDS: tuple[tuple[str, Any, str], ...] = (
    ("ge", lambda x, b: x < b, "at least"),
    ("gt", lambda x, b: x <= b, "greater than"),
    ("le", lambda x, b: x > b, "at most"),
    ("lt", lambda x, b: x >= b, "less than"),
)


def _convert(value: Any, hint: Any, key: Key) -> Any:
    """``value`` as ``hint`` says (an int for a float becomes a float), or an OptionError."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _convert_union(value, args, hint, key)
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise OptionError(f"option {_name(key)} must be one of {', '.join(map(str, args))}, got {value!r}", key=key)
    if origin in (tuple, list) and isinstance(value, list | tuple):
        item = args[0] if args else Any
        return tuple(_convert(v, item, (*key, i)) for i, v in enumerate(value))
    if origin in (dict, Mapping) and isinstance(value, Mapping):
        item = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, item, (*key, str(k))) for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, AdapterOptions) and isinstance(value, Mapping):
        return _parse(hint, value, key)
    if isinstance(hint, type) and _is_instance(value, hint):
        if hint is float:
            if not math.isfinite(value):
                raise OptionError(f"option {_name(key)} must be a finite number, got {value!r}", key=key)
            return float(value)
        return Path(value) if hint is Path else value
    raise OptionError(f"option {_name(key)} must be {type_name(hint)}, got {value!r}", key=key)


def _convert_union(value: Any, args: tuple[Any, ...], hint: Any, key: Key) -> Any:
    if value is None and type(None) in args:
        return None
    candidates = [a for a in args if a is not type(None) and _shape_fits(value, a)]
    if len(candidates) == 1:  # the value's shape picks the member: its own message is the most precise
        return _convert(value, candidates[0], key)
    for arg in candidates:
        try:
            return _convert(value, arg, key)
        except OptionError:
            continue
    raise OptionError(f"option {_name(key)} must be {type_name(hint)}, got {value!r}", key=key)


def _shape_fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return any(type(value) is type(a) for a in typing.get_args(hint))
    if origin in (tuple, list):
        return isinstance(value, list | tuple)
    if origin in (dict, Mapping) or (isinstance(hint, type) and issubclass(hint, AdapterOptions)):
        return isinstance(value, Mapping)
    return isinstance(hint, type) and _is_instance(value, hint)


def _is_instance(value: Any, hint: type) -> bool:
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, int | float)
    if hint is Path:
        return isinstance(value, str | os.PathLike)
    return isinstance(value, hint)


def type_name(hint: Any) -> str:
    """What a type annotation asks for, in words: ``a number``, ``one of first, max``, ``a list of strings``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin in (tuple, list):
        return f"a list of {_plural(args[0] if args else Any)}"
    if origin in (dict, Mapping):
        return "a mapping" if len(args) < 2 or args[1] is Any else f"a mapping to {_plural(args[1])}"
    if isinstance(hint, type) and issubclass(hint, AdapterOptions):
        return "a mapping of " + ", ".join(option_names(hint))
    return _NAMES.get(hint, getattr(hint, "__name__", str(hint)))


_NAMES: dict[Any, str] = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false (a YAML boolean)",
    Path: "a path (a string)", Any: "anything",
}  # fmt: skip


def _plural(hint: Any) -> str:
    word = type_name(hint)
    for article in ("a ", "an "):
        if word.startswith(article):
            return word[len(article) :].replace("string", "strings").replace("integer", "integers")
    return word


def _name(key: Key) -> str:
    """``('regex', 0, 'pattern')`` -> ``'regex[0].pattern'``."""
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return repr(text)


# Checks shared by several adapters' ``check`` / ``__post_init__`` -----------------------------------


def require_file(path: Path | str | None, key: str, what: str = "file") -> None:
    """An OptionError when ``path`` is given but is not an existing file (or directory, for ``what='directory'``)."""
    if path is None:
        return
    target = Path(path).expanduser()
    exists = target.is_dir() if what == "directory" else target.is_file()
    if not exists:
        raise OptionError(f"option {key!r}: no {what} at {str(path)!r}", key=(key,))


def require_url(url: str | None, key: str) -> None:
    """An OptionError when ``url`` is given but is not ``http(s)://host[...]``."""
    if url is None:
        return
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OptionError(f"option {key!r} must be an http:// or https:// URL, got {url!r}", key=(key,))


def require_device(device: str, key: str = "device") -> None:
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto``: what :func:`.model_files.resolve_device` takes."""
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise OptionError(f"option {key!r} must be cpu, cuda, cuda:N or auto, got {device!r}", key=(key,))
