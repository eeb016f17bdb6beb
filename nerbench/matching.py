"""One document's matching of gold spans and valid predictions (private to :mod:`nerbench.scoring`).

Spans arrive as ``(start, end, label)`` keys; the result is a list of
``(gold index, prediction index, class)`` triples covering every gold span and
every prediction once. The steps, so that no count depends on span order:

1. same key -> COR;
2. same start and end, other label -> TYPE (labels paired in sorted order);
3. overlapping pairs left, one-to-one by maximum total overlap, then most pairs,
   then most same-label pairs, within each overlap cluster -> BND / BND_TYPE;
4. predictions left -> SPU, gold spans left -> MIS.
"""

from __future__ import annotations

import itertools
from enum import IntEnum

import numpy as np


class MatchClass(IntEnum):
    """What became of one gold span or one raw prediction."""

    COR = 0
    TYPE = 1
    BND = 2
    BND_TYPE = 3
    SPU = 4
    MIS = 5
    INVALID = 6
    OUT_OF_SCHEMA = 7
    IGNORED = 8


# The classes that account for one gold span, and those that account for one scored prediction.
GOLD_SIDE = frozenset({MatchClass.COR, MatchClass.TYPE, MatchClass.BND, MatchClass.BND_TYPE, MatchClass.MIS})
PRED_SIDE = frozenset({MatchClass.COR, MatchClass.TYPE, MatchClass.BND, MatchClass.BND_TYPE, MatchClass.SPU})

Key = tuple[int, int, str]  # (start, end, schema label)
Pair = tuple[int | None, int | None, MatchClass]
_COR, _TYPE, _BND, _BND_TYPE = MatchClass.COR, MatchClass.TYPE, MatchClass.BND, MatchClass.BND_TYPE
_SPU, _MIS = MatchClass.SPU, MatchClass.MIS


def match_document(gold: list[Key], pred: list[Key]) -> list[Pair]:
    """Match one document's gold keys with its valid prediction keys (indices into both)."""
    if not pred or not gold:
        return [(gi, None, _MIS) for gi in range(len(gold))] + [(None, pi, _SPU) for pi in range(len(pred))]
    pairs, left_g, left_p = _match_exact(gold, pred)
    if not left_p or not left_g:
        return pairs + [(gi, None, _MIS) for gi in left_g] + [(None, pi, _SPU) for pi in left_p]
    if len(left_g) == 1 and len(left_p) == 1:
        (gs, ge, gl), (ps, pe, pl) = gold[left_g[0]], pred[left_p[0]]
        if gs < pe and ps < ge:
            cls = _TYPE if (gs, ge) == (ps, pe) else _BND if gl == pl else _BND_TYPE
            return [*pairs, (left_g[0], left_p[0], cls)]
        return [*pairs, (left_g[0], None, _MIS), (None, left_p[0], _SPU)]
    left_g, left_p = _match_same_bounds(gold, pred, left_g, left_p, pairs)
    _match_overlaps(gold, pred, left_g, left_p, pairs)
    return pairs


def _match_exact(gold: list[Key], pred: list[Key]) -> tuple[list[Pair], list[int], list[int]]:
    """COR pairs (a gold span and a prediction with the same key), gold left, predictions left."""
    pairs: list[Pair] = []
    left_p: list[int] = []
    index = dict(zip(gold, itertools.count()))
    if len(index) == len(gold):  # no two gold spans alike: the usual case
        for pi, key in enumerate(pred):
            gi = index.pop(key, None)
            if gi is None:
                left_p.append(pi)
            else:
                pairs.append((gi, pi, _COR))
        return pairs, sorted(index.values()), left_p
    by_key: dict[Key, list[int]] = {}
    for gi in range(len(gold) - 1, -1, -1):
        by_key.setdefault(gold[gi], []).append(gi)
    for pi, key in enumerate(pred):
        hit = by_key.get(key)
        if hit:
            pairs.append((hit.pop(), pi, _COR))
        else:
            left_p.append(pi)
    return pairs, sorted(gi for hits in by_key.values() for gi in hits), left_p


def _match_same_bounds(
    gold: list[Key], pred: list[Key], left_g: list[int], left_p: list[int], pairs: list[Pair]
) -> tuple[list[int], list[int]]:
    by_bounds: dict[tuple[int, int], list[int]] = {}
    for gi in sorted(left_g, key=lambda i: gold[i][2], reverse=True):
        by_bounds.setdefault(gold[gi][:2], []).append(gi)
    rest_p = []
    for pi in sorted(left_p, key=lambda i: pred[i][2]):
        hit = by_bounds.get(pred[pi][:2])
        if hit:
            pairs.append((hit.pop(), pi, _TYPE))
        else:
            rest_p.append(pi)
    return sorted(gi for hits in by_bounds.values() for gi in hits), rest_p


def _match_overlaps(gold: list[Key], pred: list[Key], left_g: list[int], left_p: list[int], pairs: list[Pair]) -> None:
    edges: list[tuple[int, int, int]] = []  # (gold, pred, overlap)
    for pi in left_p:
        ps, pe, _ = pred[pi]
        for gi in left_g:
            gs, ge, _ = gold[gi]
            if gs < pe and ps < ge:
                edges.append((gi, pi, min(pe, ge) - max(ps, gs)))
    matched_g: set[int] = set()
    matched_p: set[int] = set()
    for cluster in _clusters(edges, len(gold)):
        for gi, pi in _best_assignment(gold, pred, cluster):
            pairs.append((gi, pi, _BND if gold[gi][2] == pred[pi][2] else _BND_TYPE))
            matched_g.add(gi)
            matched_p.add(pi)
    pairs.extend((None, pi, _SPU) for pi in left_p if pi not in matched_p)
    pairs.extend((gi, None, _MIS) for gi in left_g if gi not in matched_g)


def _clusters(edges: list[tuple[int, int, int]], n_gold: int) -> list[list[tuple[int, int, int]]]:
    """Connected components of the gold/prediction overlap graph (prediction ``pi`` is node ``n_gold + pi``)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for gi, pi, _ in edges:
        parent[find(gi)] = find(n_gold + pi)
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for edge in edges:
        groups.setdefault(find(edge[0]), []).append(edge)
    return list(groups.values())


def _best_assignment(gold: list[Key], pred: list[Key], cluster: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """One-to-one pairs maximising total overlap, then pair count, then same-label pairs."""
    gs = sorted({e[0] for e in cluster})
    ps = sorted({e[1] for e in cluster})
    if len(gs) == 1 or len(ps) == 1:  # a star: the one best edge
        best = max(cluster, key=lambda e: (e[2], gold[e[0]][2] == pred[e[1]][2]))
        return [(best[0], best[1])]
    size = len(gs) + len(ps)
    pair_weight, overlap_weight = size + 1, (size + 1) ** 2
    weights = np.zeros((len(gs), len(ps)), dtype=np.int64)
    for gi, pi, overlap in cluster:
        same = gold[gi][2] == pred[pi][2]
        weights[gs.index(gi), ps.index(pi)] = overlap * overlap_weight + pair_weight + same
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [(gs[r], ps[c]) for r, c in zip(rows, cols, strict=True) if weights[r, c] > 0]
