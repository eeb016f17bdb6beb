"""Rules: spaCy ``EntityRuler`` patterns plus regular expressions, no model to download.

Options (:class:`RulesOptions`, checked before anything runs):

- ``patterns``: a path or a list of paths to spaCy pattern JSONL files, one
  ``{"label": ..., "pattern": ..., "id": ...}`` per line; ``pattern`` is a phrase
  (a string) or a token pattern (a list of token attribute dicts).
- ``regex``: a list of ``{"label": ..., "pattern": ..., "flags": "i"}`` or the path
  to a JSONL or YAML file of them (Python ``re``; flags from ``i m s x``).
- ``overlap``: how a regex match and a ruler entity that overlap are resolved:
  ``longest`` (default: the longer span wins, a tie goes to the ruler), ``ruler``
  (ruler entities always win) or ``regex`` (regex matches always win). Among
  themselves, ruler patterns follow spaCy (longest match), and so do regex matches.
- ``phrase_matcher_attr``: the token attribute phrase patterns match on (``LOWER``
  for case-insensitive phrases); default spaCy's ``ORTH``.
- ``language``: the ``spacy.blank`` language whose tokenizer is used (default ``en``).

With gold tokens, the spaCy ``Doc`` is built from them and entity offsets are taken
from the gold token offsets, so any whitespace between tokens maps back exactly.
Regex matches always run on the original text, whatever the tokenization.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, OptionError, about, parse_config, require_file
from nerbench.adapters.models.tokenize import spacy_doc_from_tokens
from nerbench.errors import ConfigError, InputError, MissingExtraError
from nerbench.types import Document, Span, TextInput

Overlap = Literal["longest", "ruler", "regex"]
OVERLAP_POLICIES: tuple[str, ...] = get_args(Overlap)
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_RULER, _REGEX = 0, 1  # candidate sources, the rank of a tie under ``longest``
_MATCH_SPAN = re.Match.span


@dataclass(frozen=True)
class RegexRule:
    """One compiled regular-expression pattern and the label its matches get."""

    label: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, kw_only=True)
class RulesOptions(AdapterOptions):
    """The options of the ``rules`` adapter."""

    patterns: Path | tuple[Path, ...] | None = field(
        default=None, metadata=about("spaCy EntityRuler pattern JSONL file(s)")
    )
    regex: Path | tuple[dict[str, Any], ...] | None = field(
        default=None, metadata=about("a list of {label, pattern, flags}, or a JSONL or YAML file of them")
    )
    overlap: Overlap = field(
        default="longest", metadata=about("which wins when a regex match and a ruler entity overlap")
    )
    phrase_matcher_attr: str | None = field(
        default=None, metadata=about("the token attribute phrase patterns match on (LOWER)")
    )
    language: str = field(default="en", metadata=about("the spacy.blank language whose tokenizer is used"))

    def __post_init__(self) -> None:
        if not self.pattern_paths() and not self.regex:
            raise OptionError("give option 'patterns', 'regex' or both")

    def pattern_paths(self) -> list[Path]:
        paths = self.patterns if isinstance(self.patterns, tuple) else () if self.patterns is None else (self.patterns,)
        return [p.expanduser() for p in paths]

    def check(self) -> None:
        """Pattern files exist; every regular expression (inline or in its file) compiles."""
        many = isinstance(self.patterns, tuple)
        for i, path in enumerate(self.pattern_paths()):
            try:
                require_file(path, "patterns")
            except OptionError as err:
                raise OptionError(err.problem, key=("patterns", i) if many else ("patterns",)) from None
        if isinstance(self.regex, Path):
            require_file(self.regex, "regex")
            try:
                entries = _regex_entries("", self.regex.expanduser())
            except (InputError, ConfigError) as err:
                raise OptionError(f"option 'regex': {err}", key=("regex",)) from None
            keys: list[tuple[str | int, ...]] = [("regex",)] * len(entries)
        else:
            entries = _regex_entries("", self.regex)
            keys = [("regex", i) for i in range(len(entries))]
        for (entry, where), key in zip(entries, keys, strict=True):
            try:
                compile_rule(entry)
            except ValueError as err:
                raise OptionError(f"{where}: {err}", key=key) from None


class RulesAdapter:
    """Entity ruler and regex patterns over ``spacy.blank(language)``."""

    family: ClassVar[str] = "rules"
    kind: ClassVar[str] = "rules"
    trains: ClassVar[bool] = False
    vocabulary: ClassVar[str] = "open"
    Options: ClassVar[type[AdapterOptions]] = RulesOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(RulesOptions, config)
        self.pattern_paths = options.pattern_paths()
        self.regex_option = options.regex.expanduser() if isinstance(options.regex, Path) else options.regex
        self.overlap: str = options.overlap
        self.phrase_attr = options.phrase_matcher_attr
        self.language = options.language
        self._nlp: Any = None
        self._components: list[Any] = []
        self._patterns: list[dict[str, Any]] = []
        self._regex: list[RegexRule] = []
        self._requests = 0
        self._characters = 0

    def load(self) -> None:
        try:
            import spacy
        except ImportError:
            raise MissingExtraError("spacy", "rules") from None
        patterns = [p for path in self.pattern_paths for p in read_ruler_patterns(path, self.config.name)]
        regex = [_compile(rule, self.config.name) for rule in _regex_entries(self.config.name, self.regex_option)]
        try:
            nlp = spacy.blank(self.language)
            ruler_config: dict[str, Any] = {"validate": True}
            if self.phrase_attr is not None:
                ruler_config["phrase_matcher_attr"] = self.phrase_attr
            if patterns:  # no ruler at all when only regex patterns are given
                ruler: Any = nlp.add_pipe("entity_ruler", config=ruler_config)
                ruler.add_patterns(patterns)
        except (ImportError, ValueError, KeyError) as err:  # unknown language or attribute
            raise ConfigError(f"model {self.config.name!r} (adapter rules): {err}") from None
        self._nlp, self._patterns, self._regex = nlp, patterns, regex
        self._components = [proc for _, proc in nlp.pipeline]

    def fit(self, documents: Sequence[Document]) -> None:
        """Rules do not train."""

    def labels(self) -> frozenset[str]:
        self._require_loaded()
        return frozenset(p["label"] for p in self._patterns) | {r.label for r in self._regex}

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        self._require_loaded()
        self._requests += 1
        self._characters += sum(len(i.text) for i in inputs)
        docs = [self._annotate(inp) for inp in inputs]  # each library in one pass: caches stay warm
        found = [self._ruler_spans(inp, doc) for inp, doc in zip(inputs, docs, strict=True)]
        rules = [(rule.pattern.finditer, rule.label) for rule in self._regex]
        matched = [
            [(s, e, label, _REGEX) for finditer, label in rules for s, e in map(_MATCH_SPAN, finditer(inp.text))]
            for inp in inputs
        ]
        return [
            resolve_overlaps(inp.text, ruler + matches if matches else ruler, self.overlap)
            for inp, ruler, matches in zip(inputs, found, matched, strict=True)
        ]

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in self.pattern_paths:
            digest.update(_read_bytes(path, self.config.name))
        if isinstance(self.regex_option, Path):
            digest.update(_read_bytes(self.regex_option, self.config.name))
        else:
            digest.update(json.dumps(self.regex_option, sort_keys=True, default=str).encode())
        settings = [self.overlap, self.phrase_attr, self.language, _spacy_version()]
        digest.update(json.dumps(settings).encode())
        return f"rules:{digest.hexdigest()}"

    def describe(self) -> dict[str, str]:
        return {
            "spacy": _spacy_version(),
            "language": self.language,
            "ruler_patterns": str(len(self._patterns)),
            "regex_patterns": str(len(self._regex)),
            "overlap": self.overlap,
            "phrase_matcher_attr": self.phrase_attr or "ORTH",
        }

    def _require_loaded(self) -> None:
        if self._nlp is None:
            raise RuntimeError("RulesAdapter: call load() first")

    @staticmethod
    def _ruler_spans(inp: TextInput, doc: Any) -> list[tuple[int, int, str, int]]:
        if inp.tokens is None:
            return [(e.start_char, e.end_char, e.label_, _RULER) for e in doc.ents]
        tokens = inp.tokens
        return [(tokens[e.start][0], tokens[e.end - 1][1], e.label_, _RULER) for e in doc.ents]

    def _annotate(self, inp: TextInput) -> Any:
        """The input through the pipeline: the tokenizer (or a ``Doc`` of the gold tokens), then the ruler.

        What ``nlp(text)`` does, without ``Language``'s per-call machinery, which for a
        blank pipeline with one ruler costs more than the ruler's work on a short text.
        """
        doc = self._nlp.make_doc(inp.text) if inp.tokens is None else spacy_doc_from_tokens(self._nlp.vocab, inp)
        for proc in self._components:
            doc = proc(doc)
        return doc


def resolve_overlaps(text: str, candidates: Sequence[tuple[int, int, str, int]], policy: str) -> list[Span]:
    """Non-overlapping spans from ``(start, end, label, source)`` candidates, in text order.

    Candidates are taken greedily in priority order: under ``longest`` the longer
    span first, a tie to the ruler, then the earlier start; under ``ruler`` or
    ``regex`` that source first, then the same order. Whitespace at a span's edges
    is trimmed; a span left empty (an empty regex match) is dropped.
    """
    ordered = sorted(candidates)
    if all(a[1] <= b[0] for a, b in pairwise(ordered)):  # nothing overlaps (the usual case): trim each
        spans = []
        for start, end, label, _ in ordered:
            if start >= end or text[start].isspace() or text[end - 1].isspace():
                start, end = _trim(text, start, end)
                if start >= end:
                    continue
            spans.append(Span(start, end, label))
        return spans
    first = {"longest": None, "ruler": _RULER, "regex": _REGEX}[policy]

    def priority(c: tuple[int, int, str, int]) -> tuple[int, int, int, int]:
        start, end, _, source = c
        return (0 if first is None else int(source != first), start - end, source, start)

    starts: list[int] = []
    kept: list[tuple[int, int, str]] = []
    for start, end, label, _ in sorted(candidates, key=priority):
        start, end = _trim(text, start, end)
        if start >= end:
            continue
        at = bisect.bisect_left(starts, start)
        if (at and kept[at - 1][1] > start) or (at < len(kept) and kept[at][0] < end):
            continue
        starts.insert(at, start)
        kept.insert(at, (start, end, label))
    return [Span(start, end, label) for start, end, label in kept]


def read_ruler_patterns(path: Path, model: str) -> list[dict[str, Any]]:
    """The patterns of one spaCy pattern JSONL file, each line checked (InputError names the line)."""
    from spacy.schemas import validate_token_pattern

    patterns = []
    for number, line in enumerate(_read_bytes(path, model).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"not a JSON object: {err.msg}", path=path, line=number) from None
        problem = _pattern_problem(entry)
        if problem is None and isinstance(entry["pattern"], list):
            errors = validate_token_pattern(entry["pattern"])
            problem = f"invalid token pattern: {'; '.join(errors)}" if errors else None
        if problem:
            raise InputError(problem, path=path, line=number)
        patterns.append(entry)
    return patterns


def _pattern_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return 'expected an object {"label": ..., "pattern": ...}'
    if not isinstance(entry.get("label"), str) or not entry["label"]:
        return "'label' must be a non-empty string"
    pattern = entry.get("pattern")
    if not (isinstance(pattern, str) and pattern) and not (isinstance(pattern, list) and pattern):
        return "'pattern' must be a phrase (a string) or a token pattern (a list of objects)"
    if "id" in entry and not isinstance(entry["id"], str):
        return "'id' must be a string"
    return None


def _regex_entries(model: str, value: Path | Sequence[Any] | None) -> list[tuple[Any, str]]:
    """Each regex entry with where it comes from (for messages)."""
    if value is None:
        return []
    if not isinstance(value, Path):
        return [(entry, f"option 'regex' entry {i}") for i, entry in enumerate(value)]
    path = value.expanduser()
    text = _read_bytes(path, model).decode("utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise InputError(f"not valid YAML: {err}", path=path) from None
        if not isinstance(loaded, list):
            raise InputError("expected a list of {label, pattern} entries", path=path)
        return [(entry, f"{path} entry {i}") for i, entry in enumerate(loaded)]
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                entries.append((json.loads(line), f"{path}:{number}"))
            except json.JSONDecodeError as err:
                raise InputError(f"not a JSON object: {err.msg}", path=path, line=number) from None
    return entries


def compile_rule(entry: Any) -> RegexRule:
    """One ``{label, pattern, flags}`` entry compiled; ValueError saying what is wrong with it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("label"), str) or not entry["label"]:
        raise ValueError(f"expected {{label: ..., pattern: ...}}, got {entry!r}")
    pattern, flags = entry.get("pattern"), entry.get("flags", "")
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"'pattern' must be a non-empty string, got {pattern!r}")
    if not isinstance(flags, str) or set(flags) - set(_FLAGS):
        raise ValueError(f"'flags' must be letters from {''.join(_FLAGS)}, got {flags!r}")
    try:
        compiled = re.compile(pattern, sum(_FLAGS[f] for f in set(flags)))
    except re.error as err:
        raise ValueError(f"invalid regular expression {pattern!r}: {err}") from None
    return RegexRule(entry["label"], compiled)


def _compile(item: tuple[Any, str], model: str) -> RegexRule:
    entry, where = item
    try:
        return compile_rule(entry)
    except ValueError as err:
        raise ConfigError(f"model {model!r}: {where}: {err}") from None


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _read_bytes(path: Path, model: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(f"model {model!r} (adapter rules): cannot read {path}: {err.strerror}") from None


def _spacy_version() -> str:
    try:
        return version("spacy")
    except PackageNotFoundError:  # load() says so
        return "absent"
