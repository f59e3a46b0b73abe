"""The BERT encoder layers of bot/sentence_encoder.py as an ONNX graph, run by onnxruntime.

Why: a message is ~15 wordpieces, so each layer multiplies a thin [15, 384] matrix by
weight matrices of up to 384 x 1536. OpenBLAS (numpy's) packs the whole weight matrix again
on every such call and reaches ~1 GFLOP/s there (60 GFLOP/s on [256, 384]): the numpy pass
took 14-18 ms per message whatever its length, the largest single cost of a Rasa turn.
onnxruntime packs constant weights once, when the session is built.

The graph is built here from the same weights, op for op as ``MiniLMEncoder.forward``
(fused QKV projection, scaled dot-product attention with an additive mask, exact GELU via
Erf, post-layer-norm residuals), so no export tool, torch or model hub is involved. Its input
is the embedding layer's output (a gather, left in numpy) and the additive attention mask;
its output the last hidden state. tests/test_sentence_encoder.py checks it against the numpy
pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

OPSET = 17  # LayerNormalization is a standard op from 17 on


def build_encoder_graph(weights: dict[str, np.ndarray], config: Any) -> bytes:
    """A serialised ONNX model: (x [batch, length, hidden], bias [batch, 1, 1, length]) ->
    hidden [batch, length, hidden]."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = config.hidden_size, config.num_attention_heads
    head_dim = hidden // heads
    nodes: list[Any] = []
    initializers: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    split_heads = const("split_heads", np.array([0, 0, 3, heads, head_dim], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    half = const("half", np.array(0.5, dtype=np.float32))
    one = const("one", np.array(1.0, dtype=np.float32))
    root2 = const("root2", np.array(np.sqrt(2.0), dtype=np.float32))
    eps = float(config.layer_norm_eps)

    x = "x"
    for i in range(config.num_hidden_layers):
        p = f"l{i}_"

        def w(name: str, i: int = i) -> str:
            return const(f"{i}.{name}", weights[f"{i}.{name}"])

        qkv = node("Add", [node("MatMul", [x, w("qkv_w")], p + "qkv_mm"), w("qkv_b")], p + "qkv")
        # [batch, length, 3, heads, head_dim] -> [3, batch, heads, length, head_dim]
        qkv = node("Reshape", [qkv, split_heads], p + "qkv_split")
        qkv = node("Transpose", [qkv], p + "qkv_t", perm=[2, 0, 3, 1, 4])
        q, k, v = (p + "q", p + "k", p + "v")
        nodes.append(helper.make_node("Split", [qkv], [q + "3", k + "3", v + "3"], axis=0))
        q, k, v = (node("Squeeze", [name + "3", const(f"{p}{name}_ax", np.array([0]))], name)
                   for name in (q, k, v))
        k_t = node("Transpose", [k], p + "k_t", perm=[0, 1, 3, 2])
        scores = node("Mul", [node("MatMul", [q, k_t], p + "qk"), scale], p + "scores")
        scores = node("Add", [scores, "bias"], p + "masked")
        probs = node("Softmax", [scores], p + "probs", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v], p + "ctx")], p + "ctx_t",
                       perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_heads], p + "ctx_merged")
        attended = node("Add", [node("MatMul", [context, w("out_w")], p + "out_mm"),
                                w("out_b")], p + "attended")
        x = node("LayerNormalization", [node("Add", [x, attended], p + "res1"),
                                        w("attn_ln_g"), w("attn_ln_b")], p + "ln1",
                 axis=-1, epsilon=eps)
        inner = node("Add", [node("MatMul", [x, w("ffn_in_w")], p + "ffn_mm"), w("ffn_in_b")],
                     p + "ffn_in")
        # Exact GELU: 0.5 * x * (1 + erf(x / sqrt(2)))
        erf = node("Erf", [node("Div", [inner, root2], p + "gelu_div")], p + "gelu_erf")
        gelu = node("Mul", [node("Mul", [inner, half], p + "gelu_half"),
                            node("Add", [erf, one], p + "gelu_1p")], p + "gelu")
        out = node("Add", [node("MatMul", [gelu, w("ffn_out_w")], p + "ffn_out_mm"),
                           w("ffn_out_b")], p + "ffn_out")
        x = node("LayerNormalization", [node("Add", [x, out], p + "res2"),
                                        w("ffn_ln_g"), w("ffn_ln_b")], p + "ln2",
                 axis=-1, epsilon=eps)
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))

    floats = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "minilm_encoder_layers",
        [helper.make_tensor_value_info("x", floats, ["batch", "length", hidden]),
         helper.make_tensor_value_info("bias", floats, ["batch", 1, 1, "length"])],
        [helper.make_tensor_value_info("hidden", floats, ["batch", "length", hidden])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime 1.19 reads
    # No onnx.checker here: onnxruntime validates the graph as it loads it, and the checker
    # cost 0.24 s on every process start. tests/test_sentence_encoder.py runs it.
    return model.SerializeToString()


class OnnxEncoderLayers:
    """The encoder layers in one onnxruntime session (``threads`` intra-op threads)."""

    def __init__(self, weights: dict[str, np.ndarray], config: Any, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread, as for BLAS in sentence_encoder: the matrices are small, and under
        # load the other core is busy with another conversation anyway.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(
            build_encoder_graph(weights, config), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        (hidden,) = self._session.run(["hidden"], {"x": x, "bias": bias})
        return hidden
