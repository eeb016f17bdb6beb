"""``report.md``: the leaderboards and the 'which to pick' answers, for pull-request comments."""

from __future__ import annotations

from nerbench.reports import pick
from nerbench.reports.compare import Change
from nerbench.reports.model import Board, Report


def cell(value: object, digits: int = 3) -> str:
    """A Markdown table cell: numbers rounded, pipes and newlines escaped."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _board(board: Board) -> list[str]:
    lines = [
        f"### {cell(board.dataset)}",
        "",
        "| model | kind | F1 | 95% CI | P | R | schema err | p95 ms | docs/s | $ / 1k docs | failed |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in board.rows:
        tie = " ≈" if r.vs_best is not None and not r.vs_best.significant() else ""
        ci = f"{r.f1_ci[0]:.3f}–{r.f1_ci[1]:.3f}" if r.f1_ci else "—"
        lines.append(
            f"| {cell(r.model)} | {pick.shown_kind(r)} | {cell(r.f1)}{tie} | {ci} | {cell(r.precision)} | "
            f"{cell(r.recall)} | {cell(r.schema_error_rate)} | {cell(r.p95_ms, 1)} | {cell(r.docs_per_s, 1)} | "
            f"{cell(r.usd_per_1k, 6)} | {r.failed_docs} |"
        )
    lines += ["", "≈ not significantly different from the most accurate model (paired bootstrap).", ""]
    for p in pick.picks(board):
        lines.append(f"- **{p.question}:** {('`' + cell(p.model) + '` — ') if p.model else ''}{cell(p.why)}")
    for model, (label, f1) in pick.weakest_labels(board).items():
        lines.append(f"- **Weakest label of `{cell(model)}`:** {cell(label)} (F1 {f1:.3f})")
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
    lines = [f"## nerbench: {cell(run.get('suite'))} (run {cell(run.get('id'))})", ""]
    lines += [f"> {note}" for note in pick.notices(report.boards)]
    if changes is not None:
        lines += _changes(changes, other_run)
    for board in report.boards:
        lines += _board(board)
    return "\n".join(lines).rstrip() + "\n"
