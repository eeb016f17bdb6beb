"""Target schemas and maps from the label sets users meet into them (data, not code).

A map sends a native label to a schema label, or to ``None`` to ignore it on
purpose (OntoNotes ``CARDINAL`` against CoNLL gold: counted as *ignored*, shown,
never silently dropped). A native label the map does not know is *out-of-schema*
and counts against precision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from nerbench.errors import ConfigError, InputError

CONLL = frozenset({"PER", "ORG", "LOC", "MISC"})
WIKIANN = frozenset({"PER", "ORG", "LOC"})
ONTONOTES = frozenset(
    {
        "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART",
        "LAW", "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL",
    }
)  # fmt: skip
# The general gold set nerbench ships: CoNLL's four plus DATE and MONEY.
NERBENCH_GENERAL = CONLL | {"DATE", "MONEY"}
# The finance gold set nerbench ships.
NERBENCH_FINANCE = frozenset({"COMPANY", "TICKER", "MONEY", "PERCENT", "DATE"})
# The label sets models ship with, by vocabulary name: an adapter declares which one it speaks
# (``vocabulary``), and ``label_map: auto`` looks for a built-in map from it. ``open``: the model
# speaks the dataset's own labels (trained on it, or prompted with them).
COMPREHEND = frozenset(
    {"PERSON", "LOCATION", "ORGANIZATION", "COMMERCIAL_ITEM", "EVENT", "DATE", "QUANTITY", "TITLE", "OTHER"}
)
GOOGLE = frozenset(
    {
        "UNKNOWN", "PERSON", "LOCATION", "ORGANIZATION", "EVENT", "WORK_OF_ART", "CONSUMER_GOOD", "OTHER",
        "PHONE_NUMBER", "ADDRESS", "DATE", "NUMBER", "PRICE",
    }
)  # fmt: skip
WATSON = frozenset(
    {
        "Anatomy", "Award", "Broadcaster", "Company", "Crime", "Drug", "EmailAddress", "Facility",
        "GeographicFeature", "HealthCondition", "Hashtag", "IPAddress", "JobTitle", "Location", "Movie",
        "MusicGroup", "NaturalEvent", "Organization", "Person", "PrintMedia", "Quantity", "Sport",
        "SportingEvent", "TelevisionShow", "TwitterHandle", "Vehicle",
    }
)  # fmt: skip
CORENLP = frozenset(
    {
        "PERSON", "LOCATION", "ORGANIZATION", "MISC", "MONEY", "NUMBER", "ORDINAL", "PERCENT", "DATE", "TIME",
        "DURATION", "SET", "EMAIL", "URL", "CITY", "STATE_OR_PROVINCE", "COUNTRY", "NATIONALITY", "RELIGION",
        "TITLE", "IDEOLOGY", "CRIMINAL_CHARGE", "CAUSE_OF_DEATH",
    }
)  # fmt: skip
OPEN = "open"
VOCABULARIES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "conll": CONLL,
        "wikiann": WIKIANN,
        "ontonotes": ONTONOTES,
        "comprehend": COMPREHEND,
        "google": GOOGLE,
        "watson": WATSON,
        "corenlp": CORENLP,
    }
)
VOCABULARY_NAMES = (*VOCABULARIES, OPEN)
SCHEMAS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "conll": CONLL,
        "wikiann": WIKIANN,
        "ontonotes": ONTONOTES,
        "general": NERBENCH_GENERAL,
        "finance": NERBENCH_FINANCE,
    }
)

IGNORE = None  # a map value meaning "ignore this native label on purpose"

_ONTONOTES_TO_CONLL: dict[str, str | None] = {
    "PERSON": "PER", "NORP": "MISC", "FAC": "LOC", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC",
    "PRODUCT": "MISC", "EVENT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "LANGUAGE": "MISC",
    "DATE": IGNORE, "TIME": IGNORE, "PERCENT": IGNORE, "MONEY": IGNORE, "QUANTITY": IGNORE,
    "ORDINAL": IGNORE, "CARDINAL": IGNORE,
}  # fmt: skip

# The cloud APIs' entity types (AWS Comprehend, Google Natural Language, IBM Watson NLU).
_COMPREHEND_TO_CONLL: dict[str, str | None] = {
    "PERSON": "PER", "LOCATION": "LOC", "ORGANIZATION": "ORG", "COMMERCIAL_ITEM": "MISC", "EVENT": "MISC",
    "TITLE": "MISC", "OTHER": IGNORE, "DATE": IGNORE, "QUANTITY": IGNORE,
}  # fmt: skip
_GOOGLE_TO_CONLL: dict[str, str | None] = {
    "PERSON": "PER", "LOCATION": "LOC", "ORGANIZATION": "ORG", "EVENT": "MISC", "WORK_OF_ART": "MISC",
    "CONSUMER_GOOD": "MISC", "OTHER": IGNORE, "UNKNOWN": IGNORE, "PHONE_NUMBER": IGNORE, "ADDRESS": IGNORE,
    "DATE": IGNORE, "NUMBER": IGNORE, "PRICE": IGNORE,
}  # fmt: skip
_WATSON_TO_CONLL: dict[str, str | None] = {
    "Person": "PER", "Location": "LOC", "GeographicFeature": "LOC", "Facility": "LOC", "Organization": "ORG",
    "Company": "ORG", "Broadcaster": "ORG", "MusicGroup": "ORG", "PrintMedia": "ORG", "Award": "MISC",
    "Movie": "MISC", "TelevisionShow": "MISC", "SportingEvent": "MISC", "NaturalEvent": "MISC", "Vehicle": "MISC",
    "Sport": IGNORE, "JobTitle": IGNORE, "Quantity": IGNORE, "Anatomy": IGNORE, "Crime": IGNORE, "Drug": IGNORE,
    "HealthCondition": IGNORE, "EmailAddress": IGNORE, "Hashtag": IGNORE, "IPAddress": IGNORE,
    "TwitterHandle": IGNORE,
}  # fmt: skip


_CORENLP_TO_CONLL: dict[str, str | None] = {
    "PERSON": "PER", "LOCATION": "LOC", "ORGANIZATION": "ORG", "MISC": "MISC", "CITY": "LOC", "COUNTRY": "LOC",
    "STATE_OR_PROVINCE": "LOC", "NATIONALITY": "MISC", "RELIGION": "MISC", "IDEOLOGY": "MISC",
    "MONEY": IGNORE, "NUMBER": IGNORE, "ORDINAL": IGNORE, "PERCENT": IGNORE, "DATE": IGNORE, "TIME": IGNORE,
    "DURATION": IGNORE, "SET": IGNORE, "EMAIL": IGNORE, "URL": IGNORE, "TITLE": IGNORE, "CRIMINAL_CHARGE": IGNORE,
    "CAUSE_OF_DEATH": IGNORE,
}  # fmt: skip


@dataclass(frozen=True)
class LabelMap:
    """A named map from native labels to schema labels (``None``: ignore on purpose)."""

    name: str
    mapping: Mapping[str, str | None] = field(default_factory=dict)
    auto: bool = field(default=False, compare=False)  # picked by ``label_map: auto``, not named by the user

    @property
    def source(self) -> str:
        """The vocabulary a built-in map reads (``ontonotes-to-conll`` -> ``ontonotes``); empty for a user's map."""
        head, sep, _ = self.name.partition("-to-")
        return head if sep and head in VOCABULARIES else ""

    def targets(self) -> frozenset[str]:
        """The schema labels this map can produce."""
        return frozenset(v for v in self.mapping.values() if v is not None)


BUILTIN_MAPS: Mapping[str, LabelMap] = MappingProxyType(
    {
        "ontonotes-to-conll": LabelMap("ontonotes-to-conll", _ONTONOTES_TO_CONLL),
        "ontonotes-to-wikiann": LabelMap(
            "ontonotes-to-wikiann", {k: (None if v == "MISC" else v) for k, v in _ONTONOTES_TO_CONLL.items()}
        ),
        "ontonotes-to-general": LabelMap(
            "ontonotes-to-general", {**_ONTONOTES_TO_CONLL, "DATE": "DATE", "TIME": None, "MONEY": "MONEY"}
        ),
        # The finance gold set: ORG read as COMPANY (a regulator tagged ORG then counts as a false company).
        "ontonotes-to-finance": LabelMap(
            "ontonotes-to-finance",
            {
                **{k: IGNORE for k in ONTONOTES},
                "ORG": "COMPANY",
                "MONEY": "MONEY",
                "PERCENT": "PERCENT",
                "DATE": "DATE",
            },
        ),
        "wikiann-to-conll": LabelMap("wikiann-to-conll", {label: label for label in WIKIANN}),
        "conll-to-wikiann": LabelMap("conll-to-wikiann", {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": None}),
        "comprehend-to-conll": LabelMap("comprehend-to-conll", _COMPREHEND_TO_CONLL),
        "comprehend-to-general": LabelMap("comprehend-to-general", {**_COMPREHEND_TO_CONLL, "DATE": "DATE"}),
        "google-to-conll": LabelMap("google-to-conll", _GOOGLE_TO_CONLL),
        "google-to-general": LabelMap("google-to-general", {**_GOOGLE_TO_CONLL, "DATE": "DATE", "PRICE": "MONEY"}),
        "watson-to-conll": LabelMap("watson-to-conll", _WATSON_TO_CONLL),
        "watson-to-general": LabelMap("watson-to-general", _WATSON_TO_CONLL),
        "corenlp-to-conll": LabelMap("corenlp-to-conll", _CORENLP_TO_CONLL),
        "corenlp-to-general": LabelMap(
            "corenlp-to-general", {**_CORENLP_TO_CONLL, "DATE": "DATE", "MONEY": "MONEY", "TIME": None}
        ),
    }
)


def _reach(label_map: LabelMap | None, vocabulary: frozenset[str], labels: frozenset[str]) -> int:
    """How many of ``labels`` a map (None: no map, labels as they are) can produce from ``vocabulary``."""
    produced = label_map.targets() if label_map is not None else vocabulary
    return len(produced & labels)


def auto_map(vocabulary: str, labels: frozenset[str]) -> LabelMap | None:
    """The built-in map ``label_map: auto`` uses from ``vocabulary`` into a dataset's ``labels`` (None: no map).

    A candidate is a built-in map from the vocabulary whose every target is one of ``labels``; the one
    reaching most of them wins, and it must reach more than the native labels reach unmapped. Two
    candidates that tie and map differently are a ConfigError naming both: the user must choose.
    """
    if vocabulary == OPEN or vocabulary not in VOCABULARIES:
        return None
    native = VOCABULARIES[vocabulary]
    candidates = [m for m in BUILTIN_MAPS.values() if m.source == vocabulary and m.targets() <= labels]
    if not candidates:
        return None
    best = max(_reach(m, native, labels) for m in candidates)
    if best == 0 or best < _reach(None, native, labels):
        return None
    top = sorted((m for m in candidates if _reach(m, native, labels) == best), key=lambda m: m.name)
    if len({tuple(sorted(m.mapping.items(), key=str)) for m in top}) > 1:
        names = ", ".join(m.name for m in top)
        raise ConfigError(
            f"label_map auto: {names} each map {vocabulary} labels onto {best} of the dataset's labels: "
            "name the one you mean with label_map"
        )
    return top[0]


def fitting_maps(native: frozenset[str], labels: frozenset[str]) -> list[str]:
    """Built-in maps that read most of the ``native`` labels seen and land only on ``labels`` (for hints)."""
    fits = []
    for m in BUILTIN_MAPS.values():
        known = len(native & set(m.mapping))
        if native and 2 * known > len(native) and m.targets() <= labels and m.targets() & labels:
            fits.append(m)
    return [m.name for m in sorted(fits, key=lambda m: (-len(m.targets() & labels), m.name))]


def outside(labels_seen: Mapping[str, int], label_map: LabelMap | None, schema: frozenset[str]) -> dict[str, int]:
    """Of the predicted labels seen (with their counts), those that land outside ``schema`` (out-of-schema)."""
    return {
        label: n
        for label, n in labels_seen.items()
        if resolve_label(label, label_map, schema) == Resolution.OUT_OF_SCHEMA
    }


class Resolution:
    """How one native label resolves: a schema label, ignored, or out-of-schema."""

    IGNORED = "\x00ignored"
    OUT_OF_SCHEMA = "\x00out-of-schema"


def resolve_label(label: str, label_map: LabelMap | None, schema: frozenset[str] | None) -> str:
    """The schema label for ``label``, or ``Resolution.IGNORED`` / ``Resolution.OUT_OF_SCHEMA``.

    Without a map a label stands for itself. A label the map does not know passes
    through when it is already a schema label, and is out-of-schema otherwise.
    """
    if label_map is not None and label in label_map.mapping:
        target = label_map.mapping[label]
        if target is None:
            return Resolution.IGNORED
    elif label_map is not None and schema is None and label not in label_map.targets():
        return Resolution.OUT_OF_SCHEMA
    else:
        target = label
    if schema is not None and target not in schema:
        return Resolution.OUT_OF_SCHEMA
    return target


def load_label_map(spec: str | Path | Mapping[str, str | None]) -> LabelMap:
    """A built-in map by name, a JSON/YAML file of ``native: target`` pairs, or a dict."""
    if isinstance(spec, Mapping):
        return LabelMap("inline", _checked_mapping(dict(spec), "inline label map"))
    if str(spec) in BUILTIN_MAPS:
        return BUILTIN_MAPS[str(spec)]
    path = Path(spec)
    if not path.is_file():
        known = ", ".join(sorted(BUILTIN_MAPS))
        raise ConfigError(f"label map {str(spec)!r} is neither a built-in map ({known}) nor a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start}): save the label map as UTF-8", path=path) from None
    data = _parse_map_text(text, path)
    return LabelMap(path.stem, _checked_mapping(data, str(path)))


def _parse_map_text(text: str, path: Path) -> object:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"invalid JSON: {err.msg}", path=path, line=err.lineno) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"invalid YAML: {getattr(err, 'problem', err)}", path=path, line=line) from None


def _checked_mapping(data: object, where: str) -> dict[str, str | None]:
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{where}: a label map must be a non-empty mapping of native label to schema label (or null)")
    for key, value in data.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str)):
            raise ConfigError(f"{where}: entry {key!r}: {value!r} must map a label name to a label name or null")
    return dict(data)


def maps_markdown() -> str:
    """Every built-in map as Markdown (README's "Built-in label maps" section is this text: ``nerbench maps``)."""
    lines = []
    for m in BUILTIN_MAPS.values():
        kept = ", ".join(f"{k} → {v}" for k, v in sorted(m.mapping.items()) if v is not None)
        ignored = ", ".join(sorted(k for k, v in m.mapping.items() if v is None))
        lines.append(f"- `{m.name}` (from `{m.source}`): {kept}" + (f"; ignored: {ignored}" if ignored else ""))
    return "\n".join(lines) + "\n"
