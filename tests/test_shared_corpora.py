"""The CoNLL reader on the real third-party corpora in ../shared/datasets.

Every expected number is copied from that folder's README.md tables (sentences = runs of
token lines between blank or whitespace-only lines, -DOCSTART- excluded; entities =
conlleval-style chunks), so a reader that miscounts any quirk fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nerbench.adapters.data.base import Corpus, ReadOptions
from nerbench.adapters.data.conll import FORMAT
from nerbench.errors import InputError


def counts(corpus: Corpus) -> tuple[int, int, int]:
    """(documents, tokens, entities) of a corpus."""
    tokens = sum(len(doc.tokens or ()) for doc in corpus.documents)
    return len(corpus.documents), tokens, corpus.entity_count


def read(path: Path, **options: object) -> Corpus:
    return FORMAT.read(path, ReadOptions(**options))  # type: ignore[arg-type]


# btc/README.md, "Files and counts": tweets, tokens, entities.
BTC = {
    "a.conll": (1000, 16612, 521),
    "b.conll": (2000, 30825, 1610),
    "e.conll": (200, 3981, 325),
    "f.conll": (2000, 35427, 4376),
    "g.conll": (2138, 34062, 4685),
    "h.conll": (2001, 29480, 3368),
}


def test_btc_counts_match_the_readme(shared_datasets: Path) -> None:
    for name, expected in BTC.items():
        corpus = read(shared_datasets / "btc" / name)
        assert counts(corpus) == expected, name
        assert (corpus.scheme, corpus.repairs, corpus.notes) == ("IOB2", 0, ())
    h = read(shared_datasets / "btc" / "h.conll")
    assert "" in {t for doc in h.documents for t in doc.token_texts()}  # the empty-token quirk survives


# wnut17/README.md, "Files and counts".
WNUT17 = {
    "wnut17train.conll": (3394, 62730, 1975),
    "emerging.dev.conll": (1009, 15733, 836),
    "emerging.test.annotated": (1287, 23394, 1079),
}


def test_wnut17_counts_match_the_readme(shared_datasets: Path) -> None:
    for name, expected in WNUT17.items():
        corpus = read(shared_datasets / "wnut17" / name)
        assert counts(corpus) == expected, name
        assert (corpus.scheme, corpus.repairs) == ("IOB2", 0)
    dev = read(shared_datasets / "wnut17" / "emerging.dev.conll")
    assert any("Dubbz\ufeff" in doc.text for doc in dev.documents)


def test_wnut17_multi_label_test_file_is_rejected_unless_asked(shared_datasets: Path) -> None:
    path = shared_datasets / "wnut17" / "emerging.test.conll"
    with pytest.raises(InputError, match="comma-joined alternatives") as info:
        read(path)
    assert info.value.path == str(path) and info.value.line is not None
    assert "\n" not in str(info.value)
    documents, tokens, _ = counts(read(path, multi_label="first"))
    assert (documents, tokens) == (1287, 23394)


def test_wikigold_counts_match_the_readme(shared_datasets: Path) -> None:
    path = shared_datasets / "wikigold" / "wikigold.conll.txt"
    assert counts(read(path)) == (1696, 39007, 3558)
    corpus = read(path, group="document")
    assert counts(corpus) == (145, 39007, 3558)  # -DOCSTART- closes each document here
    assert (corpus.scheme, corpus.repairs) == ("IOB1", 0)
    # README: a strict IOB2 reader flags every one of the 3,558 I- starts.
    assert read(path, scheme="IOB2").repairs == 3558
    assert read(path, scheme="IOB2", repair="discard").entity_count == 0


# sec_filings/README.md, "Counts": documents, sentences, tokens, entities.
SEC = {"FIN5.txt": (5, 1164, 41010, 1168), "FIN3.txt": (3, 303, 13246, 318)}


def test_sec_filings_counts_match_the_readme(shared_datasets: Path) -> None:
    for name, (docs, sentences, tokens, entities) in SEC.items():
        path = shared_datasets / "sec_filings" / name
        assert counts(read(path)) == (sentences, tokens, entities), name
        assert counts(read(path, group="document")) == (docs, tokens, entities), name
    longest = max(len(doc.tokens or ()) for doc in read(shared_datasets / "sec_filings" / "FIN3.txt").documents)
    assert longest == 641


def directory_counts(folder: Path, pattern: str) -> tuple[int, int, int, int]:
    """(files, sentences, tokens, entities) over every file of one subset, read file by file."""
    files = sorted(folder.glob(pattern))
    sentences = tokens = entities = 0
    for path in files:
        corpus = read(path)
        assert corpus.repairs == 0, path
        n, t, e = counts(corpus)
        sentences, tokens, entities = sentences + n, tokens + t, entities + e
        assert len(read(path, group="document").documents) == 1, path
    return len(files), sentences, tokens, entities


# re3d/README.md, "Counts": docs, sentences, tokens, entities.
RE3D = {
    "Australian_Department_of_Foreign_Affairs": (4, 14, 392, 41),
    "CENTCOM": (23, 251, 6881, 1008),
    "Delegation_of_the_European_Union_to_Syria": (2, 15, 684, 74),
    "UK_Government": (26, 203, 4644, 637),
    "US_State_Department": (22, 124, 3973, 489),
    "Wikipedia": (13, 111, 3355, 425),
}


def test_re3d_counts_match_the_readme(shared_datasets: Path) -> None:
    for source, expected in RE3D.items():
        assert directory_counts(shared_datasets / "re3d" / "data" / source, "*.conll") == expected, source


# gum/README.md, "Counts": docs, sentences, tokens, mentions.
GUM = {"interview": (19, 1043, 17695, 3452), "news": (21, 621, 13610, 2505), "voyage": (17, 755, 14480, 2649)}


def test_gum_counts_match_the_readme(shared_datasets: Path) -> None:
    for subset, expected in GUM.items():
        assert directory_counts(shared_datasets / "gum" / "data" / subset, "*.tsv") == expected, subset
    corpus = read(shared_datasets / "gum" / "data" / "news", group="document")
    assert corpus.scheme == "IO"
    assert {s.label for doc in corpus.documents for s in doc.spans} >= {"person", "place", "organization"}
