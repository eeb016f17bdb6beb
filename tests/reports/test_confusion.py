"""The label confusion of every ranked model behind a selector, and numbers readable on every cell colour.

The selector runs the page's own script in headless Chromium (a probe appended to a copy of the page picks
each model and records which charts show); contrast is measured on the charts as Agg draws them: each
number's colour against the pixels of its own cell, by WCAG 2's formula written out here.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from nerbench.reports.charts import _RC, NONE_LABEL, draw_confusion, draw_heatmap
from tests.harness.conftest import nerbench, results
from tests.quickstart_suite import quickstart_suite
from tests.reports.test_browser import open_in_chromium

# --- WCAG 2 contrast of what Agg draws ------------------------------------------------------------------------


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def cell_contrasts(fig: Figure) -> list[tuple[str, str, float]]:
    """(text, colour, lowest contrast against its cell) for every number drawn in a cell of the first axes.

    The cell's colour is read from the rendered pixels at four points between the number and the cell's
    corners (an image cell spans one data unit around its centre), so an overlay such as the grey of a
    thin label counts as what a reader sees."""
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[:, :, :3] / 255.0  # type: ignore[attr-defined]
    height = pixels.shape[0]
    ax = fig.axes[0]
    found = []
    for text in ax.texts:
        x, y = text.get_position()
        colour = to_rgb(text.get_color())
        lowest = np.inf
        for dx, dy in ((-0.35, -0.35), (0.35, -0.35), (-0.35, 0.35), (0.35, 0.35)):
            px, py = ax.transData.transform((x + dx, y + dy))
            background = pixels[round(height - py), round(px)]
            lowest = min(lowest, contrast(colour, tuple(background)))
        found.append((text.get_text(), text.get_color(), float(lowest)))
    return found


def drawn(draw: Any, size: tuple[float, float]) -> list[tuple[str, str, float]]:
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig = plt.figure(figsize=size)
        try:
            draw(fig)
            fig.tight_layout()
            return cell_contrasts(fig)
        finally:
            plt.close(fig)


def test_every_heatmap_number_reads_at_wcag_aa_contrast_on_its_cell() -> None:
    labels = [f"L{k}" for k in range(11)] + ["THIN"]
    grid = [[k / 10 for k in range(11)] + [0.5], [1 - k / 10 for k in range(11)] + [None], [None] * 12]
    support = {label: 40 for label in labels} | {"THIN": 3}  # under the minimum support: greyed over
    texts = drawn(lambda fig: draw_heatmap(fig, grid, labels, ["a", "b", "c"], support), (10, 2.5))
    assert len(texts) == 3 * 12
    for text, colour, ratio in texts:
        assert ratio >= 4.5, (text, colour, ratio)
    assert {colour for _, colour, _ in texts} == {"#000000", "#ffffff", "#555555"}  # dark, light and thin cells


def test_every_confusion_number_reads_at_wcag_aa_contrast_on_its_cell() -> None:
    counts = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]
    labels = [f"L{k}" for k in range(len(counts))]
    pairs = Counter({(g, p): counts[(i + j) % len(counts)] for i, g in enumerate(labels) for j, p in enumerate(labels)})
    pairs[(NONE_LABEL, "L0")] = 7
    texts = drawn(lambda fig: draw_confusion(fig, pairs, "crf"), (8, 6))
    assert sorted(int(t) for t, _, _ in texts) == sorted(pairs.values())  # zero cells carry no number
    for text, colour, ratio in texts:
        assert ratio >= 4.5, (text, colour, ratio)
    colours = {t: c for t, c, _ in texts}
    assert colours["144"] == "#ffffff" and colours["1"] == "#000000"  # the darkest navy cell: white, not black


# --- the selector, in Chromium --------------------------------------------------------------------------------

_PROBE = """<script>
(function () {
  "use strict";
  var out = [];
  function shown(figure) {
    return Array.prototype.filter.call(figure.querySelectorAll(".confusion"), function (chart) {
      return getComputedStyle(chart).display !== "none" && chart.querySelector("svg").getBoundingClientRect().width > 0;
    }).map(function (chart) { return chart.getAttribute("data-model"); });
  }
  document.querySelectorAll("section.dataset").forEach(function (section) {
    var figure = section.querySelector("figure.confusions"), pick = figure.querySelector(".f-confusion");
    var steps = [{picked: pick.value, shown: shown(figure)}];
    var models = Array.prototype.map.call(pick.options, function (o) { return o.value; });
    models.slice(1).concat([models[0]]).forEach(function (model) {
      pick.value = model;
      pick.dispatchEvent(new Event("change"));
      steps.push({picked: model, shown: shown(figure)});
    });
    out.push({dataset: section.getAttribute("data-dataset"), models: models, steps: steps});
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}());
</script>"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart's rules and CRF, and a CRF stopped after 8 iterations: three ranked models per dataset."""
    work = tmp_path_factory.mktemp("confusion")
    suite, models = quickstart_suite()
    crf8 = {**models["crf"], "name": "crf-8", "max_iterations": 8}
    suite["models"] = [models["rules-general"], models["rules-finance"], models["crf"], crf8]
    suite["settings"] = {"latency_samples": 3, "warmup": 1, "bootstrap": 100, "seed": 0}
    (work / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    nerbench("run", work / "suite.yaml", "--out", work / "run", "--store", work / "db", cwd=work)
    return work / "run"


def test_picking_a_model_shows_its_confusion_and_hides_the_others(run_dir: Path, tmp_path: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert page.count("</body>") == 1
    (tmp_path / "probe.html").write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom, console = open_in_chromium(tmp_path / "probe.html", tmp_path / "profile")
    assert console == []
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe script did not run"
    probed: list[dict[str, Any]] = json.loads(html.unescape(found.group(1)))
    document = results(run_dir)
    assert [p["dataset"] for p in probed] == ["general", "finance"]
    for p in probed:
        cells = [c for c in document["cells"] if c["dataset"] == p["dataset"] and c["status"] == "done"]
        ranked = [c["model"] for c in sorted(cells, key=lambda c: -c["metrics"]["micro"]["f1"])]
        assert p["models"] == ranked and len(ranked) == 3
        first, *picks = p["steps"]
        assert first == {"picked": ranked[0], "shown": [ranked[0]]}  # the most accurate model by default
        assert [s["picked"] for s in picks] == [*ranked[1:], ranked[0]]  # each other model, then back
        for step in picks:
            assert step["shown"] == [step["picked"]], (p["dataset"], step)
