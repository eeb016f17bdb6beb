"""Label maps: the built-in maps, resolution into a schema, and loading maps from files."""

from __future__ import annotations

from pathlib import Path

import pytest

from nerbench.errors import ConfigError, InputError
from nerbench.labels import (
    BUILTIN_MAPS,
    CONLL,
    ONTONOTES,
    SCHEMAS,
    WIKIANN,
    LabelMap,
    Resolution,
    load_label_map,
    resolve_label,
)


def test_builtin_maps_cover_their_source_labels_and_land_in_their_target_schema() -> None:
    targets = {"conll": CONLL, "wikiann": WIKIANN, "general": SCHEMAS["general"], "finance": SCHEMAS["finance"]}
    for name, label_map in BUILTIN_MAPS.items():
        assert label_map.name == name
        source, target = name.split("-to-")
        assert label_map.targets() <= targets[target], name
        if source == "ontonotes":
            assert set(label_map.mapping) == ONTONOTES, name


def test_ontonotes_to_conll() -> None:
    m = BUILTIN_MAPS["ontonotes-to-conll"]
    assert (m.mapping["PERSON"], m.mapping["GPE"], m.mapping["NORP"], m.mapping["CARDINAL"]) == (
        "PER",
        "LOC",
        "MISC",
        None,
    )
    assert m.targets() == CONLL


def test_resolve_label() -> None:
    m = BUILTIN_MAPS["ontonotes-to-conll"]
    assert resolve_label("GPE", m, CONLL) == "LOC"
    assert resolve_label("DATE", m, CONLL) == Resolution.IGNORED
    assert resolve_label("PER", m, CONLL) == "PER"  # already a schema label
    assert resolve_label("ANIMAL", m, CONLL) == Resolution.OUT_OF_SCHEMA
    assert resolve_label("ANIMAL", m, None) == Resolution.OUT_OF_SCHEMA  # not a target of the map either
    assert resolve_label("LOC", m, None) == "LOC"
    assert resolve_label("ANYTHING", None, None) == "ANYTHING"  # no map, no schema: a label stands for itself
    assert resolve_label("ANYTHING", None, CONLL) == Resolution.OUT_OF_SCHEMA
    assert resolve_label("X", LabelMap("m", {"X": "Y"}), CONLL) == Resolution.OUT_OF_SCHEMA  # mapped outside schema


def test_load_builtin_and_inline_maps() -> None:
    assert load_label_map("ontonotes-to-conll") is BUILTIN_MAPS["ontonotes-to-conll"]
    inline = load_label_map({"PERSON": "PER", "DATE": None})
    assert inline.mapping == {"PERSON": "PER", "DATE": None}
    assert inline.targets() == {"PER"}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("mine.yaml", "PERSON: PER\nGPE: LOC\nDATE: null\n"),
        ("mine.yml", "# comment\nPERSON: PER\nGPE: LOC\nDATE: ~\n"),
        ("mine.json", '{"PERSON": "PER", "GPE": "LOC", "DATE": null}'),
    ],
)
def test_load_map_files(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    label_map = load_label_map(path)
    assert label_map.name == "mine"
    assert label_map.mapping == {"PERSON": "PER", "GPE": "LOC", "DATE": None}
    assert load_label_map(str(path)).mapping == label_map.mapping


def test_unknown_map_name_lists_the_builtins() -> None:
    with pytest.raises(ConfigError, match="ontonotes-to-conll") as err:
        load_label_map("ontonotes-to-klingon")
    assert "neither a built-in map" in str(err.value)


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "PERSON": "PER",\n  "GPE" "LOC"\n}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_label_map(path)
    assert err.value.line == 3
    assert str(err.value).startswith(f"{path}:3: invalid JSON")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("PERSON: PER\nGPE: [LOC\nDATE: null\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_label_map(path)
    assert err.value.path == str(path)
    assert err.value.line is not None and err.value.line >= 2
    assert "invalid YAML" in str(err.value)


def test_non_utf8_map_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"PERSON: PER\nSTRA\xdfE: LOC\n")
    with pytest.raises(InputError, match="not UTF-8") as err:
        load_label_map(path)
    assert err.value.path == str(path)


@pytest.mark.parametrize(
    "text",
    [
        "- PER\n- LOC\n",  # a list, not a mapping
        "{}\n",  # empty
        "PERSON: [PER]\n",  # target not a name
        "PERSON: 3\n",
        "",
    ],
)
def test_wrong_shapes_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "shape.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=str(path)):
        load_label_map(path)


def test_inline_map_with_a_bad_value() -> None:
    with pytest.raises(ConfigError, match="inline label map"):
        load_label_map({"PERSON": 1})  # type: ignore[dict-item]


def test_readme_lists_every_builtin_map_as_nerbench_maps_prints_it() -> None:
    from nerbench.labels import maps_markdown

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    listed = readme.split("<!-- maps:start -->\n", 1)[1].split("<!-- maps:end -->", 1)[0]
    assert listed == maps_markdown(), "README's built-in maps are stale: paste the output of `nerbench maps`"
    for name in BUILTIN_MAPS:
        assert f"- `{name}` " in listed


def test_auto_map_picks_the_map_reaching_most_dataset_labels_and_refuses_a_tie() -> None:
    from nerbench.labels import NERBENCH_FINANCE, NERBENCH_GENERAL, auto_map

    assert auto_map("ontonotes", CONLL).name == "ontonotes-to-conll"  # type: ignore[union-attr]
    assert auto_map("ontonotes", NERBENCH_GENERAL).name == "ontonotes-to-general"  # type: ignore[union-attr]
    assert auto_map("ontonotes", NERBENCH_FINANCE).name == "ontonotes-to-finance"  # type: ignore[union-attr]
    assert auto_map("ontonotes", ONTONOTES) is None  # its own labels already fit
    assert auto_map("conll", CONLL) is None and auto_map("open", CONLL) is None
    assert auto_map("ontonotes", frozenset({"DRUG"})) is None  # nothing fits: the run will call it a mismatch
    assert auto_map("watson", NERBENCH_GENERAL) is not None  # two maps with the same contents are no tie
    tie = {"a-to-x": LabelMap("ontonotes-to-x", {"PERSON": "PER"}), "b": LabelMap("ontonotes-to-y", {"GPE": "PER"})}
    import nerbench.labels as labels

    original = labels.BUILTIN_MAPS
    labels.BUILTIN_MAPS = {**original, **tie}  # type: ignore[misc]
    try:
        with pytest.raises(ConfigError, match="ontonotes-to-x, ontonotes-to-y each map ontonotes labels"):
            auto_map("ontonotes", frozenset({"PER"}))
    finally:
        labels.BUILTIN_MAPS = original  # type: ignore[misc]
