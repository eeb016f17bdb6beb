"""Document-level bootstrap confidence intervals and the paired bootstrap between two systems."""

from __future__ import annotations

import random

import pytest

from nerbench.scoring import Score, bootstrap_ci, paired_bootstrap, paired_bootstrap_counts, score
from nerbench.types import Document, Span


def corpus(documents: int, *, seed: int = 0) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for n in range(documents):
        words = [f"w{rng.randrange(100)}" for _ in range(12)]
        text = " ".join(words)
        starts = [sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]
        spans = tuple(Span(starts[i], starts[i] + len(words[i]), rng.choice(("PER", "LOC"))) for i in range(0, 12, 3))
        docs.append(Document(str(n), text, spans))
    return docs


def system(docs: list[Document], accuracy: float, *, seed: int) -> Score:
    """Predictions that keep each gold span with probability ``accuracy`` and relabel the rest."""
    rng = random.Random(seed)
    preds = [[s if rng.random() < accuracy else Span(s.start, s.end, "ORG") for s in doc.spans] for doc in docs]
    return score(docs, preds)


def test_ci_contains_the_point_estimate_and_is_deterministic() -> None:
    result = system(corpus(200), 0.7, seed=1)
    ci = bootstrap_ci(result, resamples=500, seed=3)
    assert ci is not None
    lo, hi = ci
    assert lo < result.counts.f1 < hi  # type: ignore[operator]
    assert ci == bootstrap_ci(result, resamples=500, seed=3)
    # the seed matters (a few neighbouring seeds may land on the same percentiles: the counts are small integers)
    assert any(bootstrap_ci(result, resamples=500, seed=s) != ci for s in range(4, 10))


def test_ci_narrows_with_more_documents() -> None:
    widths = []
    for n in (50, 400, 3200):
        lo, hi = bootstrap_ci(system(corpus(n), 0.7, seed=1), resamples=500)  # type: ignore[misc]
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2] > 0


def test_ci_is_none_without_anything_to_resample() -> None:
    assert bootstrap_ci(score([], [])) is None
    assert bootstrap_ci(score([Document("d", "no entities")], [[]])) is None  # F1 undefined
    assert bootstrap_ci(system(corpus(5), 0.7, seed=1), resamples=0) is None


def test_a_perfect_system_has_a_degenerate_ci() -> None:
    assert bootstrap_ci(system(corpus(30), 1.0, seed=1)) == (1.0, 1.0)


def test_identical_systems_are_not_significantly_different() -> None:
    docs = corpus(300)
    a, b = system(docs, 0.7, seed=1), system(docs, 0.7, seed=1)
    comparison = paired_bootstrap(a, b, resamples=500)
    assert comparison.delta == 0.0
    assert comparison.p_value == 1.0
    assert not comparison.significant()
    assert comparison.ci == (0.0, 0.0)


def test_a_clearly_better_system_is_significant() -> None:
    docs = corpus(300)
    better, worse = system(docs, 0.9, seed=1), system(docs, 0.6, seed=2)
    comparison = paired_bootstrap(better, worse, resamples=1000, seed=7)
    assert comparison.delta == pytest.approx(better.counts.f1 - worse.counts.f1)  # type: ignore[operator]
    assert comparison.significant()
    assert comparison.p_value < 0.01
    lo, hi = comparison.ci
    assert 0 < lo < comparison.delta < hi
    assert paired_bootstrap(worse, better, resamples=1000, seed=7).ci == pytest.approx((-hi, -lo))
    assert comparison == paired_bootstrap(better, worse, resamples=1000, seed=7)


def test_a_small_difference_on_few_documents_is_not_significant() -> None:
    docs = corpus(20)
    comparison = paired_bootstrap(system(docs, 0.72, seed=1), system(docs, 0.7, seed=2), resamples=1000)
    assert not comparison.significant()


def test_paired_bootstrap_needs_the_same_gold() -> None:
    a = system(corpus(30), 0.7, seed=1)
    with pytest.raises(ValueError, match="same gold documents"):
        paired_bootstrap(a, system(corpus(31), 0.7, seed=1))
    with pytest.raises(ValueError, match="same gold documents"):
        paired_bootstrap(a, system(corpus(30, seed=9), 0.7, seed=1))
    renamed = [Document(f"other-{d.id}", d.text, d.spans) for d in corpus(30)]
    with pytest.raises(ValueError, match="same gold documents"):
        paired_bootstrap(a, system(renamed, 0.7, seed=1))


def test_paired_bootstrap_on_stored_per_document_counts_matches_the_score_version() -> None:
    docs = corpus(80)
    better, worse = system(docs, 0.9, seed=1), system(docs, 0.6, seed=2)
    from_rows = paired_bootstrap_counts(better.per_doc.tolist(), worse.per_doc.tolist(), resamples=800, seed=5)
    assert from_rows == paired_bootstrap(better, worse, resamples=800, seed=5)
    assert from_rows.delta == pytest.approx(better.counts.f1 - worse.counts.f1)  # type: ignore[operator]
    assert from_rows.significant()
    with pytest.raises(ValueError):
        paired_bootstrap_counts(better.per_doc[:-1], worse.per_doc)


def test_the_grouped_resampler_draws_the_same_distribution_as_drawing_documents() -> None:
    """Resampling n documents = drawing how many land in each group of equal count rows (a multinomial):
    its mean and spread match drawing documents one by one."""
    import numpy as np

    from nerbench.scoring import resample_sums

    rng = np.random.default_rng(0)
    table = np.stack([rng.integers(0, 3, 2000), np.full(2000, 2), np.full(2000, 2)], axis=1)  # few distinct rows
    grouped = np.concatenate(list(resample_sums(table, 4000, seed=1)))
    draws = rng.integers(0, len(table), size=(4000, len(table)))
    direct = table[draws].sum(axis=1)
    assert grouped.shape == (4000, 3)
    assert grouped[:, 0].mean() == pytest.approx(direct[:, 0].mean(), rel=2e-3)
    assert grouped[:, 0].std() == pytest.approx(direct[:, 0].std(), rel=0.06)
    assert (grouped[:, 1] == 4000).all()  # a column every document shares is the same in every resample


@pytest.mark.parametrize("documents", [40, 3000])
def test_the_cis_do_not_depend_on_how_many_draws_are_made_at_once(
    documents: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory per chunk is bounded; the draws, hence every CI, are the same whatever the chunk."""
    import nerbench.scoring as scoring

    docs = corpus(documents)
    a, b = system(docs, 0.8, seed=1), system(docs, 0.7, seed=2)
    whole = bootstrap_ci(a, resamples=500, seed=4), paired_bootstrap(a, b, resamples=500, seed=4)
    monkeypatch.setattr(scoring, "_DRAWS_AT_ONCE", 37)
    assert (bootstrap_ci(a, resamples=500, seed=4), paired_bootstrap(a, b, resamples=500, seed=4)) == whole
