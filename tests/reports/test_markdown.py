"""``report.md`` shows names, labels and reasons as text: a pipe, HTML or Markdown markup in them changes nothing."""

from __future__ import annotations

import re

from nerbench.reports.markdown import _board, cell, code
from tests.reports.test_pick import LEADER, WORSE, board
from tests.reports.test_pick import cell as result

ODD_MODEL = "crf | <img src=x onerror=alert(1)> *bold* _it_ [link](http://x) `tick` ~~gone~~ #1 \\ & ok"
ODD_LABEL = "WORK | OF <b>ART</b>"


def _row_cells(line: str) -> list[str]:
    """A Markdown table row's cells, split as GitHub does: on pipes not escaped."""
    return re.split(r"(?<!\\)\|", line.strip().strip("|"))


def test_markup_in_names_and_labels_is_escaped_and_the_table_keeps_its_columns() -> None:
    odd, plain = result(ODD_MODEL, LEADER, labels={ODD_LABEL: (0.4, 30)}), result("plain", WORSE)
    lines = _board(board(odd, plain, labels=(ODD_LABEL,)))
    header, rule, *rows = [line for line in lines if line.startswith("|")]
    assert len(_row_cells(rule)) == len(_row_cells(header))
    assert all(len(_row_cells(r)) == len(_row_cells(header)) for r in rows), rows
    text = "\n".join(lines)
    shown = re.sub(r"(`+)(?!`).+?(?<!`)\1(?!`)", "", text)  # code spans show their text literally: HTML included
    assert "<img" not in shown and "<b>" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert f"``{ODD_MODEL}``" in text  # the picks name the model in a code span, as it is
    assert "\\*bold\\* \\_it\\_ \\[link\\](http://x) \\`tick\\` \\~\\~gone\\~\\~ \\#1 \\\\ &amp; ok" in text
    assert "WORK \\| OF &lt;b&gt;ART&lt;/b&gt;" in text  # the weakest label, as text


def test_cell_and_code_show_text_literally() -> None:
    assert cell("a|b\nc") == "a\\|b c" and cell(None) == "—" and cell(0.91234) == "0.912"
    assert code("rules-general") == "`rules-general`"
    assert code("a`b") == "``a`b``" and code("`x") == "`` `x ``"  # a fence longer than any backtick run inside
