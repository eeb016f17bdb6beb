"""Transformers: a token classifier (BERT, RoBERTa, DistilBERT, ...) with our own inference loop.

Options (:class:`TransformersOptions`, checked before anything runs):

- ``model``: a Hugging Face hub name (``dslim/bert-base-NER``) or a local directory
  holding a token-classification model and its fast tokenizer; ``revision``,
  ``local_files_only`` (false), ``trust_remote_code`` (false: only when the suite says so).
- ``aggregation``: how sub-word scores make one label per word: ``first`` (default),
  ``max`` or ``average`` (the Hugging Face pipeline's strategies of the same names).
- ``batch_size`` (32): windows per forward pass; windows are sorted by length first,
  so a pass pads little.
- ``max_length``: tokens per window, special tokens included (default: the model's
  limit); ``stride`` (default a quarter of the window): tokens shared by consecutive
  windows of a long document. Each token is read from the window where it has the
  most context on both sides.
- ``device``: ``auto`` (default: CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``;
  ``dtype``: ``auto`` (float16 on CUDA, float32 on CPU), ``float32``, ``float16``,
  ``bfloat16`` (half precision on GPU only).
- ``finetune``: ``{base, epochs, learning_rate, batch_size, seed, max_length}``: train a
  classifier from the encoder ``base`` on the suite's train split first (see
  :mod:`nerbench.adapters.models.finetune`); ``model`` is then not given.

Words are the tokenizer's own pre-tokenized words (the gold tokens when the suite
asks for them); an entity's offsets are its words' offsets from the tokenizer's
offset mapping, whitespace trimmed, so they are code points into the input text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from nerbench.adapters.models import finetune as ft
from nerbench.adapters.models.base import ModelConfig, Usage
from nerbench.adapters.models.options import AdapterOptions, OptionError, about, parse_config
from nerbench.adapters.models.subwords import group_words, trimmed, window_of_token, windows, word_scores
from nerbench.errors import ConfigError, InputError, MissingExtraError
from nerbench.types import Document, Span, TextInput

ARCHITECTURES = {
    "bert": "BERT", "roberta": "RoBERTa", "distilbert": "DistilBERT", "xlm-roberta": "XLM-RoBERTa",
    "camembert": "CamemBERT", "deberta": "DeBERTa", "deberta-v2": "DeBERTa-v2", "electra": "ELECTRA",
    "albert": "ALBERT", "mpnet": "MPNet", "modernbert": "ModernBERT",
}  # fmt: skip


class Encoded:
    """One input as sub-word ids, the word each token belongs to, and each word's offsets."""

    __slots__ = ("ids", "spans", "word_ids")

    def __init__(self, ids: list[int], word_ids: list[int | None], spans: list[tuple[int, int]]) -> None:
        self.ids, self.word_ids, self.spans = ids, word_ids, spans


@dataclass(frozen=True, kw_only=True)
class TransformersOptions(AdapterOptions):
    """The options of the ``transformers`` adapter: ``model`` or ``finetune``, and how to run it."""

    model: str | Path | None = field(
        default=None, metadata=about("a hub name or a local directory of a token-classification model")
    )
    finetune: ft.FinetuneOptions | None = field(
        default=None, metadata=about("fine-tune an encoder on the train split first")
    )
    aggregation: Literal["first", "max", "average"] = field(
        default="first", metadata=about("how sub-word scores make a word's label")
    )
    batch_size: int = field(default=32, metadata=about(ge=1, help="windows per forward pass"))
    max_length: int | None = field(
        default=None, metadata=about(ge=1, help="tokens per window, special tokens included (default: model's)")
    )
    stride: int | None = field(
        default=None, metadata=about(ge=0, help="tokens shared by consecutive windows (default: a quarter)")
    )
    device: str = field(default="auto", metadata=about("auto, cpu, cuda or cuda:N"))
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = field(
        default="auto", metadata=about("half precision on GPU only")
    )
    trust_remote_code: bool = field(default=False, metadata=about("run the model repository's own code"))
    revision: str | None = field(default=None, metadata=about("the hub revision (branch, tag or commit)"))
    local_files_only: bool = field(default=False, metadata=about("never touch the hub"))

    def __post_init__(self) -> None:
        if (self.model is None) == (self.finetune is None):
            raise OptionError("give either option 'model' or 'finetune'")


class TransformersAdapter:
    """``AutoModelForTokenClassification`` + fast tokenizer, or an encoder fine-tuned in ``fit``."""

    family: ClassVar[str] = "transformers"
    trains: bool = False  # True on an instance configured with ``finetune``
    requires: ClassVar[tuple[str, ...]] = ("transformers", "torch")
    extra: ClassVar[str] = "transformers"
    native_labels: ClassVar[frozenset[str] | None] = None
    vocabulary: ClassVar[str] = "open"  # a hub model's labels are its own: give the suite's `vocabulary:` key
    Options: ClassVar[type[AdapterOptions]] = TransformersOptions

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.options = options = parse_config(TransformersOptions, config)
        self.finetune = options.finetune
        self.trains = self.finetune is not None
        self.model_ref = None if options.model is None else str(options.model)
        self.aggregation: str = options.aggregation
        self.batch_size = options.batch_size
        self.max_length_option = options.max_length
        self.stride_option = options.stride
        self.device_option = options.device
        self.dtype_option: str = options.dtype
        self.trust_remote_code = options.trust_remote_code
        self.revision = options.revision
        self.local_files_only = options.local_files_only
        self.source = "pretrained" if self.finetune is None else "untrained"
        self.trained_dir: Path | None = None
        self._tok: Any = None
        self._words_tok: Any = None  # the tokenizer for gold-token input (prefix space for byte-level BPE)
        self._model: Any = None
        self._device: Any = None
        self._base_type: str | None = None
        self._requests = 0
        self._characters = 0

    def load(self) -> None:
        _import_libraries()
        self._device = _device(self.config.name, self.device_option)
        if self.model_ref is not None:
            self._open(self.model_ref, local_only=self.local_files_only)
        elif self.finetune is not None:  # the architecture is known before training
            import transformers

            base = ft.resolve_base(self.finetune.base, self.config.name)
            try:
                self._base_type = transformers.AutoConfig.from_pretrained(base).model_type
            except (OSError, ValueError) as err:
                raise ConfigError(f"model {self.config.name!r}: cannot load base encoder {base!r}: {err}") from None

    def fit(self, documents: Sequence[Document]) -> None:
        """Fine-tune ``finetune.base`` on ``documents``, or reuse the model cached for the same inputs."""
        if self.finetune is None:
            return
        self.trained_dir, self.source = ft.trained_model(self.config, self.finetune, documents)
        self._open(str(self.trained_dir), local_only=True)

    def labels(self) -> frozenset[str]:
        if self._model is None:
            return frozenset()
        return frozenset(k for k in (_kind(t) for t in self._model.config.id2label.values()) if k)

    def predict(self, inputs: Sequence[TextInput]) -> list[list[Span]]:
        if self._model is None:
            raise RuntimeError("TransformersAdapter: call load() (and fit() when fine-tuning) first")
        self._requests += 1
        self._characters += sum(len(i.text) for i in inputs)
        encoded = [self._encode(inp) for inp in inputs]
        probs = self._token_probabilities(encoded)
        id2label = self._model.config.id2label
        results = []
        for enc, p in zip(encoded, probs, strict=True):
            scores = word_scores(p, enc.word_ids, len(enc.spans), self.aggregation)
            seen = np.zeros(len(enc.spans), dtype=bool)
            seen[[w for w in enc.word_ids if w is not None]] = True
            tags = [id2label[int(k)] if ok else "O" for k, ok in zip(scores.argmax(axis=1), seen, strict=True)]
            results.append([Span(s, e, label) for s, e, label in group_words(tags, enc.spans)])
        return results

    def usage(self) -> Usage:
        return Usage(requests=self._requests, characters=self._characters)

    def fingerprint(self) -> str:
        settings = [self.aggregation, self.max_length_option, self.stride_option, self.dtype_option, _versions()]
        if self.finetune is not None:
            identity = ft.settings_hash(self.config, self.finetune)
        else:
            identity = model_identity(str(self.model_ref), self.revision)
        digest = hashlib.sha256(json.dumps([identity, settings], default=str).encode()).hexdigest()
        return f"transformers:{digest}"

    def describe(self) -> dict[str, str]:
        info = {**_versions(), "aggregation": self.aggregation, "source": self.source}
        if self.finetune is not None:
            info["kind"] = "fine-tuned encoder"
            info["base"] = str(self.finetune.base)
            info.update({k: str(v) for k, v in self.finetune.hyper().items()})
        else:
            info["model"] = str(self.model_ref)
        if self._base_type is not None:
            info["architecture"] = ARCHITECTURES.get(self._base_type, self._base_type)
        if self._model is not None:
            cfg = self._model.config
            info["architecture"] = ARCHITECTURES.get(cfg.model_type, cfg.model_type)
            info["model_type"] = cfg.model_type
            info["parameters"] = str(sum(p.numel() for p in self._model.parameters()))
            info["device"], info["dtype"] = str(self._device), str(self._model.dtype).replace("torch.", "")
            info["window"], info["stride"] = str(self._max_length()), str(self._stride())
        if self.trained_dir is not None:
            info["model_dir"] = str(self.trained_dir)
        return info

    # -- loading ---------------------------------------------------------------------------------

    def _open(self, ref: str, *, local_only: bool) -> None:
        import transformers

        common: dict[str, Any] = {
            "revision": self.revision, "trust_remote_code": self.trust_remote_code, "local_files_only": local_only,
        }  # fmt: skip
        try:
            tok = transformers.AutoTokenizer.from_pretrained(ref, use_fast=True, **common)
            model, info = transformers.AutoModelForTokenClassification.from_pretrained(
                ref, dtype=_dtype(self.config.name, self.dtype_option, self._device), output_loading_info=True,
                **common,
            )  # fmt: skip
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(
                f"model {self.config.name!r} (adapter transformers): cannot load {ref!r}: {first}"
            ) from None
        if not tok.is_fast:
            raise ConfigError(f"model {self.config.name!r}: {ref!r} has no fast tokenizer (offsets need one)")
        untrained = [k for k in info.get("missing_keys", []) if "classifier" in k or "score" in k]
        if untrained:
            raise ConfigError(
                f"model {self.config.name!r}: {ref!r} has no trained token-classification head ({untrained[0]} is "
                "new): give an NER model, or fine-tune it with option 'finetune: {base: ...}'"
            )
        self._tok, self._words_tok = tok, None
        self._model = model.to(self._device).eval()

    def _max_length(self) -> int:
        if self.max_length_option is not None:
            return self.max_length_option
        cfg, limit = self._model.config, self._tok.model_max_length
        positions = getattr(cfg, "max_position_embeddings", 512)
        if cfg.model_type in ("roberta", "xlm-roberta", "camembert", "longformer"):
            positions -= 2  # position ids start after the padding index
        return int(min(positions, limit if limit and limit < 1_000_000 else positions))

    def _stride(self) -> int:
        content = self._max_length() - self._tok.num_special_tokens_to_add()
        return self.stride_option if self.stride_option is not None else max(0, content // 4)

    # -- inference -------------------------------------------------------------------------------

    def _encode(self, inp: TextInput) -> Encoded:
        """Sub-word ids (no special tokens) with word indices and word offsets."""
        if inp.tokens is None:
            enc = self._tok(inp.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            word_ids = _content_words(enc)
            n_words = 1 + max((w for w in word_ids if w is not None), default=-1)
            bounds = [[len(inp.text), 0] for _ in range(n_words)]
            for w, (s, e) in zip(word_ids, enc["offset_mapping"], strict=True):
                if w is not None and s < e:
                    bounds[w][0], bounds[w][1] = min(bounds[w][0], s), max(bounds[w][1], e)
            spans, reached = [], 0
            for s, e in bounds:  # a word of bare combining marks was absorbed by the word before: it is empty
                s, e = trimmed(inp.text, max(s, reached), e) if s < e else (0, 0)
                spans.append((s, e))
                reached = max(reached, e)
            return Encoded(list(enc["input_ids"]), word_ids, spans)
        tokens = list(inp.tokens)
        for i, (start, end) in enumerate(tokens):
            if not 0 <= start < end <= len(inp.text) or (i and start < tokens[i - 1][1]):
                raise InputError(f"input {inp.id!r}: gold token {i} ({start}, {end}) is empty, out of order or range")
        words = [inp.text[s:e] for s, e in tokens]
        enc = self._word_tokenizer()(
            words, is_split_into_words=True, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return Encoded(list(enc["input_ids"]), _content_words(enc), tokens)

    def _word_tokenizer(self) -> Any:
        """Byte-level BPE tokenizers need ``add_prefix_space`` for pre-split words."""
        if self._words_tok is None:
            self._words_tok = self._tok
            if getattr(self._tok, "add_prefix_space", None) is False:
                import transformers

                path = self._tok.name_or_path
                self._words_tok = transformers.AutoTokenizer.from_pretrained(
                    path, use_fast=True, add_prefix_space=True, revision=self.revision,
                    trust_remote_code=self.trust_remote_code, local_files_only=self.local_files_only,
                )  # fmt: skip
        return self._words_tok

    def _token_probabilities(self, encoded: Sequence[Encoded]) -> list[np.ndarray]:
        """Softmaxed label scores per token of each input, windows batched by length."""
        size = self._max_length() - self._tok.num_special_tokens_to_add()
        if size < 1:
            raise ConfigError(f"model {self.config.name!r}: option 'max_length' leaves no room for tokens")
        pieces: list[tuple[int, int, int]] = []  # (input, start, end)
        cuts = [windows(enc.word_ids, size, self._stride()) if enc.ids else [] for enc in encoded]
        for k, spans in enumerate(cuts):
            pieces.extend((k, s, e) for s, e in spans)
        order = sorted(range(len(pieces)), key=lambda i: pieces[i][2] - pieces[i][1])
        out: list[np.ndarray | None] = [None] * len(pieces)
        for first in range(0, len(order), self.batch_size):
            chunk = order[first : first + self.batch_size]
            rows = self._forward([encoded[pieces[i][0]].ids[pieces[i][1] : pieces[i][2]] for i in chunk])
            for i, row in zip(chunk, rows, strict=True):
                out[i] = row
        n_labels = len(self._model.config.id2label)
        results, at = [], 0
        for enc, spans in zip(encoded, cuts, strict=True):
            probs = np.zeros((len(enc.ids), n_labels), dtype=np.float32)
            best = window_of_token(spans, len(enc.ids))
            for t, w in enumerate(best):
                start = spans[w][0]
                probs[t] = out[at + w][t - start]  # type: ignore[index]
            results.append(probs)
            at += len(spans)
        return results

    def _forward(self, sequences: list[list[int]]) -> list[np.ndarray]:
        """One forward pass; returns the content tokens' softmaxed scores of each sequence."""
        import torch

        built = [self._tok.build_inputs_with_special_tokens(s) for s in sequences]
        width = max(len(b) for b in built)
        pad = self._tok.pad_token_id if self._tok.pad_token_id is not None else 0
        ids = torch.full((len(built), width), pad, dtype=torch.long)
        mask = torch.zeros((len(built), width), dtype=torch.long)
        for i, b in enumerate(built):
            ids[i, : len(b)] = torch.tensor(b)
            mask[i, : len(b)] = 1
        with torch.inference_mode():
            logits = self._model(input_ids=ids.to(self._device), attention_mask=mask.to(self._device)).logits
            probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        prefix = ft.prefix_length(self._tok)
        return [probs[i, prefix : prefix + len(s)] for i, s in enumerate(sequences)]


def model_identity(ref: str, revision: str | None) -> str:
    """A local directory's content hash, or the hub name and revision."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return "dir:" + ft.directory_hash(path)
    return f"hub:{ref}@{revision or 'main'}"


def _content_words(enc: Any) -> list[int | None]:
    """Each token's word, None for tokens that cover no character (a lone byte-level ``Ġ``)."""
    return [w if s < e else None for w, (s, e) in zip(enc.word_ids(), enc["offset_mapping"], strict=True)]


def _kind(tag: str) -> str | None:
    if tag == "O":
        return None
    return tag[2:] if len(tag) > 2 and tag[1] == "-" else tag


def _import_libraries() -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise MissingExtraError("transformers and torch", "transformers") from None


def _device(name: str, option: str) -> Any:
    import torch

    if option == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if option.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"model {name!r}: option 'device' is {option!r} but no CUDA device is available")
    try:
        return torch.device(option)
    except RuntimeError:
        raise ConfigError(
            f"model {name!r}: option 'device' must be auto, cpu, cuda or cuda:N, got {option!r}"
        ) from None


def _dtype(name: str, option: str, device: Any) -> Any:
    import torch

    if option == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if option != "float32" and device.type != "cuda":
        raise ConfigError(f"model {name!r}: dtype {option} is for GPU inference; use float32 on {device.type}")
    return getattr(torch, option)


def _versions() -> dict[str, str]:
    return {"transformers": ft.version_of("transformers"), "torch": ft.version_of("torch")}
