"""``report.md``: the leaderboards and the 'which to pick' answers, for pull-request comments."""

from __future__ import annotations

import re

from nerbench.reports import pick
from nerbench.reports.compare import Change
from nerbench.reports.html import report_columns
from nerbench.reports.model import Board, Report

_MARKDOWN = re.compile(r"([\\`*_\[\]|~#])")  # what Markdown renderers (GitHub's included) read as markup
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def cell(value: object, digits: int = 3) -> str:
    """Text as Markdown shows it literally (a table cell, a heading, a list item): numbers rounded, markup
    characters backslash-escaped, HTML turned into entities, newlines into spaces."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    text = _MARKDOWN.sub(r"\\\1", " ".join(text.splitlines()))
    return "".join(_HTML.get(c, c) for c in text)


def code(value: object) -> str:
    """A code span (outside tables) showing ``value`` literally: fenced with more backticks than it holds."""
    text = " ".join(str(value).splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _board(board: Board) -> list[str]:
    columns = report_columns()
    heads = ["model", "kind"]
    for m in columns:
        heads += [m.header, "95% CI"] if m.interval else [m.header]
    lines = [f"### {cell(board.dataset)}", "", "| " + " | ".join(heads) + " | label map |",
             "|---|---|" + "---:|" * (len(heads) - 2) + "---|"]  # fmt: skip
    for r in board.ranked:
        values = []
        for m in columns:
            value = m.value(r.cell)
            values.append(m.format(value) + (" ≈" if m.name == "f1" and r.tied else ""))
            if m.interval:
                ci = m.interval(r.cell)
                values.append(f"{m.format(ci[0])}–{m.format(ci[1])}" if ci else "—")
        row = [cell(r.model), cell(pick.shown_kind(r)), *values, cell(r.cell.label_map_text)]
        lines.append("| " + " | ".join(row) + " |")
    for r in board.unranked:
        reason = cell(f"{r.cell.status}: {r.cell.reason or 'no reason recorded'}")
        lines.append(f"| {cell(r.model)} | {cell(pick.shown_kind(r))} | {reason} |" + " |" * (len(heads) - 3))
    lines.append("")
    if board.any_tie:
        lines += ["≈ not significantly different from the most accurate model (paired bootstrap).", ""]
    for p in pick.picks(board):
        lines.append(f"- **{p.question}:** {(code(p.model) + ' — ') if p.model else ''}{cell(p.why)}")
    for model, (label, f1, n) in pick.weakest_labels(board).items():
        lines.append(f"- **Weakest label of {code(model)}:** {cell(label)} (F1 {f1:.3f}, {n} gold spans)")
    for note in pick.notes(board):
        lines.append(f"- _Note:_ {cell(note)}")
    return [*lines, ""]


def _changes(changes: list[Change], other_run: str | None) -> list[str]:
    lines = [f"### Compared with run {cell(other_run)}", "", "| model | dataset | F1 | before | ΔF1 | p | change |"]
    lines.append("|---|---|---:|---:|---:|---:|---|")
    for c in changes:
        delta = f"{c.delta:+.3f}" if c.delta is not None else "—"
        p = cell(c.test.p_value) if c.test else "—"
        lines.append(
            f"| {cell(c.model)} | {cell(c.dataset)} | {cell(c.f1)} | {cell(c.other_f1)} | {delta} | {p} | {c.verdict} |"
        )
    return [*lines, ""]


def render_markdown(report: Report, *, changes: list[Change] | None = None, other_run: str | None = None) -> str:
    """The Markdown report of one run."""
    run = report.run
    lines = [f"## nerbench: {cell(run.suite)} (run {cell(run.id)})", ""]
    lines += [f"> {note}" for note in pick.notices(report.boards)]
    if changes is not None:
        lines += _changes(changes, other_run)
    for board in report.boards:
        lines += _board(board)
    return "\n".join(lines).rstrip() + "\n"
