"""bot.sentence_encoder: the numpy all-MiniLM-L6-v2 against the model's published behaviour.

Needs the weights package (installed with --no-deps by `make install`); no network.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.sentence_encoder import (
    MODEL_FILES,
    BertConfig,
    MiniLMEncoder,
    extract_model,
    find_model_zip,
    load_bert_weights,
    shared_encoder,
)


@pytest.fixture(scope="module")
def encoder():
    return shared_encoder()


@pytest.fixture(scope="module")
def numpy_encoder():
    return MiniLMEncoder(backend="numpy")


def test_shapes_dtypes_and_unit_norm(encoder):
    texts = ["How do I renew my child's card?", "hi", "Reimbursement for glasses, please"]
    vectors, states, offsets = encoder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, state, offset in zip(texts, states, offsets, strict=True):
        assert state.dtype == np.float32 and state.shape[1] == 384
        assert offset.shape == (state.shape[0], 2)
        assert 0 < state.shape[0] <= len(text)
        assert (offset[:, 0] < offset[:, 1]).all() and offset[:, 1].max() <= len(text)


def test_reproduces_the_published_similarity_matrix(encoder):
    # sentence-transformers' README example for all-MiniLM-L6-v2 (printed to 4 decimals):
    # matching it checks tokenizer, weight layout, attention mask, pooling, normalisation.
    vectors, _, _ = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    expected = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    np.testing.assert_allclose(vectors @ vectors.T, expected, atol=1e-3)


def test_paraphrases_are_closer_than_unrelated_sentences(encoder):
    pairs = [
        (
            "how do I renew my kid's social security card",
            "my child's card expired, how to get a new one",
        ),
        ("I lost my insurance card", "can't find my social security card anywhere"),
        (
            "what documents do I need for a student card",
            "which papers should a student bring to apply",
        ),
    ]
    unrelated = ["what's the weather like tomorrow", "recommend a good pizza place"]
    vectors, _, _ = encoder.encode([t for pair in pairs for t in pair] + unrelated)
    para = [float(vectors[2 * i] @ vectors[2 * i + 1]) for i in range(len(pairs))]
    other = vectors[len(pairs) * 2 :]
    worst_unrelated = float((vectors[: len(pairs) * 2] @ other.T).max())
    assert min(para) > worst_unrelated + 0.2, (para, worst_unrelated)


def test_offsets_cover_the_words_of_the_text(encoder):
    text = "Where's the Tianhe office?  Reimbursements, ok"
    _, states, offsets = encoder.encode([text])
    covered = np.zeros(len(text), dtype=bool)
    for start, end in offsets[0]:
        assert not covered[start:end].any(), "wordpieces overlap"
        covered[start:end] = True
    assert covered.tolist() == [not c.isspace() for c in text]
    # "Reimbursements" is split into several wordpieces that tile the word exactly.
    word_start = text.index("Reimbursements")
    pieces = [(s, e) for s, e in offsets[0] if word_start <= s < word_start + 14]
    assert len(pieces) > 1 and pieces[0][0] == word_start and pieces[-1][1] == word_start + 14
    assert states[0].shape[0] == len(offsets[0])


def test_deterministic_and_independent_of_batch_padding(encoder):
    short = "lost my card"
    alone_vec, alone_states, _ = encoder.encode([short])
    again_vec, _, _ = encoder.encode([short])
    batch_vec, batch_states, _ = encoder.encode([short, "a much longer sentence " * 8])
    np.testing.assert_array_equal(alone_vec, again_vec)
    np.testing.assert_allclose(batch_vec[0], alone_vec[0], atol=1e-5)
    np.testing.assert_allclose(batch_states[0], alone_states[0], atol=1e-4)


def test_long_texts_are_truncated_and_empty_texts_work(encoder):
    vectors, states, offsets = encoder.encode(["word " * 300, ""])
    assert states[0].shape == (encoder.max_length - 2, 384)
    assert states[1].shape == (0, 384) and offsets[1].shape == (0, 2)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_concurrent_extraction_into_a_fresh_cache(tmp_path):
    results, errors = [], []

    def extract():
        try:
            results.append(extract_model(tmp_path, find_model_zip()))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=extract) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(results)) == 1
    assert all((results[0] / name).is_file() for name in MODEL_FILES)
    assert [p.name for p in tmp_path.iterdir()] == [results[0].name]  # no temp dirs left


def _tiny_bert_tensors(config: BertConfig) -> dict[str, np.ndarray]:
    h, inner = config.hidden_size, config.intermediate_size
    shapes = {
        "embeddings.word_embeddings.weight": (config.vocab_size, h),
        "embeddings.position_embeddings.weight": (config.max_position_embeddings, h),
        "embeddings.token_type_embeddings.weight": (config.type_vocab_size, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
        "pooler.dense.weight": (h, h),
        "pooler.dense.bias": (h,),
    }
    for i in range(config.num_hidden_layers):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            shapes[f"{p}attention.self.{n}.weight"] = (h, h)
            shapes[f"{p}attention.self.{n}.bias"] = (h,)
        shapes |= {
            f"{p}attention.output.dense.weight": (h, h),
            f"{p}attention.output.dense.bias": (h,),
            f"{p}attention.output.LayerNorm.weight": (h,),
            f"{p}attention.output.LayerNorm.bias": (h,),
            f"{p}intermediate.dense.weight": (inner, h),
            f"{p}intermediate.dense.bias": (inner,),
            f"{p}output.dense.weight": (h, inner),
            f"{p}output.dense.bias": (h,),
            f"{p}output.LayerNorm.weight": (h,),
            f"{p}output.LayerNorm.bias": (h,),
        }
    rng = np.random.default_rng(0)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}


def test_weight_loading_uses_every_tensor_with_the_expected_shape(tmp_path):
    from safetensors.numpy import save_file

    config = BertConfig(8, 2, 2, 16, 1e-12, 10, 30, 2, "gelu")
    tensors = _tiny_bert_tensors(config)
    save_file(tensors, str(tmp_path / "ok.safetensors"))
    weights = load_bert_weights(tmp_path / "ok.safetensors", config)
    # PyTorch's [out, in] Linear weights come back transposed, q/k/v fused side by side.
    np.testing.assert_array_equal(
        weights["1.qkv_w"][:, 8:16], tensors["encoder.layer.1.attention.self.key.weight"].T
    )
    save_file({**tensors, "encoder.layer.2.extra": np.zeros(1, np.float32)}, str(tmp_path / "x"))
    with pytest.raises(ValueError, match="does not use"):
        load_bert_weights(tmp_path / "x", config)
    wrong = {**tensors, "encoder.layer.0.output.dense.weight": np.zeros((16, 8), np.float32)}
    save_file(wrong, str(tmp_path / "wrong"))
    with pytest.raises(ValueError, match="shape"):
        load_bert_weights(tmp_path / "wrong", config)
    missing = dict(tensors)
    del missing["encoder.layer.1.output.LayerNorm.bias"]
    save_file(missing, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="no tensor encoder.layer.1.output.LayerNorm.bias"):
        load_bert_weights(tmp_path / "missing", config)


def test_onnxruntime_layers_match_the_numpy_reference(encoder, numpy_encoder):
    # The served backend (bot/bert_onnx.py) against the numpy layers, on a padded batch of a
    # short and a long message: same hidden states wherever the mask is on.
    assert encoder.backend == "onnxruntime"
    texts = ["hi", "what documents do I need for my daughter's card at the counter please"]
    encodings = [encoder._tokenizer.encode(text) for text in texts]
    length = max(len(e.ids) for e in encodings)
    ids = np.zeros((2, length), dtype=np.int64)
    mask = np.zeros((2, length), dtype=np.float32)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1.0
    served, reference = encoder.forward(ids, mask), numpy_encoder.forward(ids, mask)
    assert served.shape == reference.shape == (2, length, 384)
    on = mask.astype(bool)
    np.testing.assert_allclose(served[on], reference[on], atol=1e-4)


def test_both_backends_give_the_same_sentence_vectors(encoder, numpy_encoder):
    texts = ["I lost my son's card", "how much does medical insurance pay back?", ""]
    np.testing.assert_allclose(
        numpy_encoder.encode(texts)[0], encoder.encode(texts)[0], atol=1e-5
    )
    with pytest.raises(ValueError, match="backend"):
        MiniLMEncoder(backend="torch")


def test_the_encoder_graph_passes_the_onnx_checker(tmp_path):
    # On a tiny random BERT: the graph bot/bert_onnx.py builds is valid ONNX (the full check
    # onnxruntime's loader does not do), and runs to the numpy layers' result.
    import onnx
    from safetensors.numpy import save_file

    from bot.bert_onnx import OnnxEncoderLayers, build_encoder_graph
    from bot.sentence_encoder import EMBEDDING_WEIGHTS, NumpyEncoderLayers, attention_bias

    config = BertConfig(8, 2, 2, 16, 1e-12, 10, 30, 2, "gelu")
    save_file(_tiny_bert_tensors(config), str(tmp_path / "tiny.safetensors"))
    weights = load_bert_weights(tmp_path / "tiny.safetensors", config)
    for name in EMBEDDING_WEIGHTS:
        del weights[name]
    onnx.checker.check_model(onnx.load_from_string(build_encoder_graph(weights, config)))
    x = np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32)
    bias = attention_bias(np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=np.float32))
    np.testing.assert_allclose(
        OnnxEncoderLayers(weights, config)(x, bias),
        NumpyEncoderLayers(weights, config)(x, bias),
        atol=1e-4,
    )
