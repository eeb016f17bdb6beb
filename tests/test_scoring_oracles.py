"""The scorer against the references: seqeval (both modes), a port of conlleval, and nervaluate.

Corpora are seeded random IOB2 tag sequences with invalid transitions (``I-X`` after ``O``
or after another type); documents join the tokens with single spaces, so token chunks and
character spans are the same entities.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence

import pytest
from nervaluate import Evaluator
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from nerbench.scoring import Score, score
from nerbench.tagging import tags_to_chunks
from nerbench.types import Document, Span

LABELS = ("PER", "ORG", "LOC", "MISC")
SEEDS = range(8)


def random_tags(rng: random.Random, length: int) -> list[str]:
    """IOB2 tags, about one in six tokens breaking the scheme."""
    tags = []
    for _ in range(length):
        r = rng.random()
        label = rng.choice(LABELS)
        if r < 0.55:
            tags.append("O")
        elif r < 0.7:
            tags.append(f"B-{label}")
        elif r < 0.85 and tags and tags[-1] != "O":
            tags.append(f"I-{tags[-1][2:]}")  # a valid continuation
        else:
            tags.append(f"I-{label}")  # after O or another type: invalid (or a chance continuation)
    return tags


def noisy_copy(rng: random.Random, tags: list[str]) -> list[str]:
    """Predictions: the gold tags with a third of the tokens redrawn."""
    return [random_tags(rng, 1)[0] if rng.random() < 0.33 else tag for tag in tags]


def corpus(seed: int, sentences: int = 300) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    rng = random.Random(seed)
    tokens, gold, pred = [], [], []
    for n in range(sentences):
        length = rng.randint(0, 20)
        tokens.append([f"t{n}_{i}" + "x" * rng.randint(0, 3) for i in range(length)])
        gold.append(random_tags(rng, length))
        pred.append(noisy_copy(rng, gold[-1]))
    return tokens, gold, pred


def spans(tokens: Sequence[str], tags: Sequence[str], repair: str) -> tuple[Span, ...]:
    starts = [sum(len(t) + 1 for t in tokens[:i]) for i in range(len(tokens))]
    chunks = tags_to_chunks(tags, scheme="IOB2", repair=repair).chunks
    return tuple(Span(starts[s], starts[e - 1] + len(tokens[e - 1]), lab) for s, e, lab in chunks)


def nerbench_score(tokens: list[list[str]], gold: list[list[str]], pred: list[list[str]], repair: str) -> Score:
    docs = [
        Document(str(n), " ".join(t), spans(t, g, repair)) for n, (t, g) in enumerate(zip(tokens, gold, strict=True))
    ]
    return score(docs, [list(spans(t, p, repair)) for t, p in zip(tokens, pred, strict=True)])


def seqeval_report(gold: list[list[str]], pred: list[list[str]], **mode: object) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics
        return classification_report(gold, pred, output_dict=True, **mode)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("repair", "mode"), [("conlleval", {}), ("discard", {"mode": "strict", "scheme": IOB2})])
def test_strict_scores_equal_seqeval(seed: int, repair: str, mode: dict) -> None:
    tokens, gold, pred = corpus(seed)
    ours = nerbench_score(tokens, gold, pred, repair)
    c = ours.counts
    assert c.f1 == pytest.approx(f1_score(gold, pred, **mode), abs=1e-9)
    assert c.precision == pytest.approx(precision_score(gold, pred, **mode), abs=1e-9)
    assert c.recall == pytest.approx(recall_score(gold, pred, **mode), abs=1e-9)
    report = seqeval_report(gold, pred, **mode)
    for label, s in ours.per_label.items():
        row = report[label]
        assert (s.precision or 0.0, s.recall or 0.0, s.f1 or 0.0) == pytest.approx(
            (row["precision"], row["recall"], row["f1-score"]), abs=1e-9
        )
        assert s.gold == row["support"]
    assert {k for k in report if k in LABELS} <= set(ours.per_label)
    # seqeval's macro average is over the labels in gold or predictions, undefined as 0: ours by definition
    assert ours.macro["f1"] == pytest.approx(report["macro avg"]["f1-score"], abs=1e-9)
    assert ours.macro["precision"] == pytest.approx(report["macro avg"]["precision"], abs=1e-9)
    assert ours.macro["recall"] == pytest.approx(report["macro avg"]["recall"], abs=1e-9)


def test_the_random_corpora_exercise_repairs() -> None:
    """The oracle tests mean something only if the corpora hold invalid sequences that the policies treat apart."""
    _, gold, pred = corpus(0)
    repaired = sum(tags_to_chunks(t, repair="conlleval").repairs for t in gold + pred)
    assert repaired > 100
    assert nerbench_score(*corpus(0), "conlleval").counts != nerbench_score(*corpus(0), "discard").counts


# --- conlleval, ported: its per-token counting, not chunk sets -----------------------------


def _split(tag: str) -> tuple[str, str]:
    return ("O", "") if tag == "O" else (tag[0], tag[2:])


def _end_of_chunk(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    return (
        (prev, tag) in {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O")}
        or prev in ("E", "S", "]", "[")
        or (prev != "O" and prev != "." and prev_type != type_)
    )


def _start_of_chunk(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    return (
        (prev, tag) in {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E"), ("S", "E")}
        or tag in ("S", "[", "]")
        or (tag != "O" and tag != "." and prev_type != type_)
    )


def conlleval_counts(gold: list[list[str]], pred: list[list[str]]) -> tuple[int, int, int]:
    """(correct chunks, found guessed, found correct) as conlleval.pl counts them."""
    correct_chunk = found_guessed = found_correct = 0
    in_correct = False
    last_c, last_g, last_ct, last_gt = "O", "O", "", ""
    flat = [
        (c, g) for gs, ps in zip(gold, pred, strict=True) for c, g in [*zip(gs, ps, strict=True), ("O", "O")]
    ]  # a blank line is O O
    for correct_tag, guessed_tag in flat:
        c, ct = _split(correct_tag)
        g, gt = _split(guessed_tag)
        if in_correct:
            c_end, g_end = _end_of_chunk(last_c, c, last_ct, ct), _end_of_chunk(last_g, g, last_gt, gt)
            if c_end and g_end and last_gt == last_ct:
                in_correct = False
                correct_chunk += 1
            elif c_end != g_end or gt != ct:
                in_correct = False
        c_start, g_start = _start_of_chunk(last_c, c, last_ct, ct), _start_of_chunk(last_g, g, last_gt, gt)
        if c_start and g_start and gt == ct:
            in_correct = True
        found_correct += c_start
        found_guessed += g_start
        last_c, last_g, last_ct, last_gt = c, g, ct, gt
    if in_correct:
        correct_chunk += 1
    return correct_chunk, found_guessed, found_correct


@pytest.mark.parametrize("seed", SEEDS)
def test_strict_f1_equals_conlleval(seed: int) -> None:
    tokens, gold, pred = corpus(seed)
    c = nerbench_score(tokens, gold, pred, "conlleval").counts
    correct, guessed, found = conlleval_counts(gold, pred)
    assert (c.correct, c.scored_predictions, c.gold) == (correct, guessed, found)
    assert c.f1 == pytest.approx(2 * correct / (guessed + found), abs=1e-9)


def test_conlleval_port_agrees_with_seqeval_default_mode() -> None:
    """The port is a second oracle, not a copy of ours: it agrees with seqeval on its own."""
    _, gold, pred = corpus(99)
    correct, guessed, found = conlleval_counts(gold, pred)
    assert f1_score(gold, pred) == pytest.approx(2 * correct / (guessed + found), abs=1e-12)


# --- nervaluate ------------------------------------------------------------------------------


def _entities(tags: list[list[str]]) -> list[list[tuple[int, int, str]]]:
    return [list(tags_to_chunks(t, repair="conlleval").chunks) for t in tags]


def _unambiguous(gold: list[tuple[int, int, str]], pred: list[tuple[int, int, str]]) -> bool:
    """Every prediction overlaps at most one gold entity and every gold entity at most one prediction."""

    def overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
        return a[0] < b[1] and b[0] < a[1]

    return all(sum(overlaps(p, g) for g in gold) <= 1 for p in pred) and all(
        sum(overlaps(g, p) for p in pred) <= 1 for g in gold
    )


def _nervaluate(gold: list[list[tuple[int, int, str]]], pred: list[list[tuple[int, int, str]]]) -> dict:
    """nervaluate's overall counts per view; its dict loader takes INCLUSIVE token ends."""

    def as_dicts(docs: list[list[tuple[int, int, str]]]) -> list[list[dict[str, object]]]:
        return [[{"label": lab, "start": s, "end": e - 1} for s, e, lab in doc] for doc in docs]

    overall = Evaluator(as_dicts(gold), as_dicts(pred), tags=list(LABELS), loader="dict").evaluate()["overall"]
    names = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}
    return {
        ours: (r.correct, r.incorrect, r.partial, r.missed, r.spurious)
        for ours, r in ((ours, overall[theirs]) for ours, theirs in names.items())
    }


def _semeval(tokens: list[list[str]], gold: list[list[tuple]], pred: list[list[tuple]]) -> dict:
    def to_spans(toks: list[str], chunks: list[tuple[int, int, str]]) -> tuple[Span, ...]:
        starts = [sum(len(t) + 1 for t in toks[:i]) for i in range(len(toks))]
        return tuple(Span(starts[s], starts[e - 1] + len(toks[e - 1]), lab) for s, e, lab in chunks)

    docs = [Document(str(n), " ".join(t), to_spans(t, g)) for n, (t, g) in enumerate(zip(tokens, gold, strict=True))]
    result = score(docs, [list(to_spans(t, p)) for t, p in zip(tokens, pred, strict=True)])
    return {k: (v.correct, v.incorrect, v.partial, v.missed, v.spurious) for k, v in result.semeval().items()}


@pytest.mark.parametrize("seed", SEEDS)
def test_semeval_views_equal_nervaluate_where_matching_is_unambiguous(seed: int) -> None:
    tokens, gold_tags, pred_tags = corpus(seed, sentences=400)
    kept = [
        (t, g, p)
        for t, g, p in zip(tokens, _entities(gold_tags), _entities(pred_tags), strict=True)
        if _unambiguous(g, p)
    ]
    assert len(kept) > 200  # most sentences stay, errors of every kind among them
    tokens, gold, pred = (list(x) for x in zip(*kept, strict=True))
    ours = _semeval(tokens, gold, pred)
    assert ours == _nervaluate(gold, pred)
    assert ours["strict"][1] > 0 and ours["partial"][2] > 0 and ours["strict"][4] > 0 and ours["strict"][3] > 0


def test_nervaluate_depends_on_span_order_where_ours_does_not() -> None:
    """Why we do not copy nervaluate's matching.

    Gold "New York City" (LOC); predictions "New York City" (LOC) and "New York" (LOC). nervaluate walks
    the predictions in list order and gives each the first free gold entity it overlaps: with "New York"
    first, that prediction takes the gold entity as *incorrect* (strict) and the exact prediction is left
    *spurious*, so strict F1 drops from 2/3 to 0 when only the order of the predictions changes. DESIGN
    requires results independent of entity order, so ours match exact pairs first and overlaps one-to-one
    by maximum total overlap: one COR and one SPU in either order.
    """
    tokens = ["New", "York", "City"]
    gold = [[(0, 3, "LOC")]]
    exact, short = (0, 3, "LOC"), (0, 2, "LOC")
    theirs = {order: _nervaluate(gold, [list(order)])["strict"] for order in ((exact, short), (short, exact))}
    assert theirs[(exact, short)] == (1, 0, 0, 0, 1)
    assert theirs[(short, exact)] == (0, 1, 0, 0, 1)
    ours = {order: _semeval([tokens], gold, [list(order)])["strict"] for order in ((exact, short), (short, exact))}
    assert set(ours.values()) == {(1, 0, 0, 0, 1)}
