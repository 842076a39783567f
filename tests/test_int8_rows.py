"""The accurate tier's int8 rewrite (training/int8_rows.py) on a small graph quantised the way
`finalize` quantises the real one: same products within quantisation error, and one token
row never changes another's result."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx package (dev extra) builds the graphs")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from stormwatch.training.int8_rows import block_weights, int8_rows  # noqa: E402

K, HIDDEN, N = 64, 96, 32


def _fp32_graph(rng: np.random.Generator) -> onnx.ModelProto:
    w1 = rng.normal(0, 0.2, (K, HIDDEN)).astype(np.float32)
    w2 = rng.normal(0, 0.2, (HIDDEN, N)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="first"),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name="second"),
    ]
    graph = helper.make_graph(
        nodes,
        "two_products",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", N])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _four_bit(model: onnx.ModelProto) -> onnx.ModelProto:
    """Blocks of 32, symmetric, 4 bits: the settings `finalize` uses."""
    from onnxruntime.quantization import matmul_nbits_quantizer as nbits

    config = nbits.DefaultWeightOnlyQuantConfig(
        block_size=32,
        is_symmetric=True,
        bits=4,
        op_types_to_quantize=("MatMul",),
        quant_axes=(("MatMul", 0),),
    )
    quantizer = nbits.MatMulNBitsQuantizer(model, algo_config=config)
    quantizer.process()
    return quantizer.model.model


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


@pytest.fixture(scope="module")
def models():
    four = _four_bit(_fp32_graph(np.random.default_rng(3)))
    return four, int8_rows(four)


def _first_product(four: onnx.ModelProto) -> tuple:
    """The 4-bit graph's first product alone, as a model of its own: (node, its weights'
    initializers by name, the model)."""
    initializers = {i.name: numpy_helper.to_array(i) for i in four.graph.initializer}
    node = next(n for n in four.graph.node if n.op_type == "MatMulNBits" and n.input[0] == "x")
    only_first = helper.make_graph(
        [node],
        "first",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", K])],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, ["rows", HIDDEN])],
        [i for i in four.graph.initializer if i.name in node.input],
    )
    return node, initializers, helper.make_model(only_first, opset_imports=list(four.opset_import))


def test_unpacked_blocks_are_what_onnxruntime_multiplies_by(models):
    node, initializers, model = _first_product(models[0])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    # The identity's products are the weight matrix itself.
    dequantised = session.run([node.output[0]], {"x": np.eye(K, dtype=np.float32)})[0]
    np.testing.assert_allclose(block_weights(node, initializers), dequantised, atol=1e-6)


def test_rewritten_graph_multiplies_in_integers_and_agrees(models):
    four, rows = models
    ops = [n.op_type for n in rows.graph.node]
    assert "MatMulNBits" not in ops and ops.count("MatMulInteger") == 2
    x = np.random.default_rng(5).normal(0, 1, (3, 7, K)).astype(np.float32)
    expected, got = _run(four, x), _run(rows, x)
    assert got.shape == expected.shape == (3, 7, N)
    # 8-bit rows and columns: within ~1% of the output's scale, far from exact.
    error = np.abs(got - expected).max() / np.abs(expected).max()
    assert 0 < error < 0.02


def test_each_product_is_exactly_int8_rows_times_int8_columns(models):
    """Exactly the integer product of each row rounded to its own scale and the int8
    columns that `column_int8(block_weights(...))` gives, scaled back."""
    from stormwatch.training.int8_rows import column_int8

    node, initializers, model = _first_product(models[0])
    rewritten = int8_rows(model)
    session = ort.InferenceSession(
        rewritten.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    x = np.random.default_rng(9).normal(0, 1, (6, K)).astype(np.float32)
    got = session.run([node.output[0]], {"x": x})[0]
    weights, column_scale = column_int8(block_weights(node, initializers))
    row_scale = np.maximum(np.abs(x).max(axis=1) / np.float32(127), np.float32(1e-8))
    steps = np.clip(np.round(x / row_scale[:, None]), -128, 127).astype(np.int64)
    product = (steps @ weights.astype(np.int64)).astype(np.float32)
    expected = product * row_scale[:, None] * column_scale
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_a_row_never_changes_another_rows_result(models, tmp_path):
    """Per-tensor dynamic quantisation (quantize_dynamic) fails this: one loud token coarsens
    every other token's rounding. The rewrite scales each row on its own."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    _, rows = models
    x = np.random.default_rng(7).normal(0, 1, (2, 5, K)).astype(np.float32)
    loud = x.copy()
    loud[1, 4] *= 1000.0  # another post's token
    quiet = (slice(None), slice(0, 4))
    np.testing.assert_array_equal(_run(rows, x)[0], _run(rows, loud)[0])
    np.testing.assert_array_equal(_run(rows, x)[quiet], _run(rows, loud)[quiet])

    onnx.save(_fp32_graph(np.random.default_rng(3)), tmp_path / "fp32.onnx")
    quantize_dynamic(tmp_path / "fp32.onnx", tmp_path / "dynamic.onnx", weight_type=QuantType.QInt8)
    dynamic = onnx.load(tmp_path / "dynamic.onnx")
    assert np.abs(_run(dynamic, x)[0] - _run(dynamic, loud)[0]).max() > 0.01


def test_a_graph_without_block_products_is_refused():
    with pytest.raises(ValueError, match="quantise the weights in blocks first"):
        int8_rows(_fp32_graph(np.random.default_rng(1)))


def test_requantise_without_a_four_bit_model_says_what_to_copy(tmp_path):
    from click.testing import CliRunner

    from stormwatch.cli import main

    out = tmp_path / "artifact"
    args = ["train", "--tier", "accurate", "--requantise", "--work", str(tmp_path / "work")]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 1
    assert "model.w4.onnx is missing" in result.output and "git show" in result.output
    assert not out.exists()  # nothing half-written


def test_a_requantised_artifact_names_the_release_it_came_from(tmp_path):
    """The source version and the fine-tuning's package versions come from the release in
    `out` (its model is the 4-bit one), or from an earlier requantisation of the same model;
    from anything else, the version is unknown."""
    from stormwatch.models.artifact import digest, write_config
    from stormwatch.training.accurate import _source

    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    (work / "model.w4.onnx").write_bytes(b"four-bit model")
    sha = digest(work / "model.w4.onnx")
    versions = {"torch": "2.13.0+cpu", "transformers": "5.24.0", "onnxruntime": "1.32.0"}
    fine_tuning = {"torch": "2.13.0+cpu", "transformers": "5.24.0"}
    write_config(out, {"version": "1.0.0", "files": {"model.onnx": sha}, "versions": versions})
    assert _source(work, out) == {"model.w4.onnx": sha, "version": "1.0.0", "versions": fine_tuning}
    earlier = {"model.w4.onnx": sha, "version": "1.0.0"}
    write_config(
        out,
        {
            "version": "1.1.0",
            "files": {"model.onnx": "other"},
            "source": earlier,
            "versions": versions,
        },
    )
    assert _source(work, out)["version"] == "1.0.0"
    write_config(out, {"version": "2.0.0", "files": {"model.onnx": "other"}, "versions": versions})
    assert _source(work, out) == {"model.w4.onnx": sha, "version": None, "versions": {}}


def test_word_embeddings_in_four_bit_blocks_look_up_what_the_int8_table_held(tmp_path):
    """`finalize` stores the word embeddings as int8 (quantize_dynamic on Gather); the
    rewrite keeps them in 4-bit blocks of 32 per row: every lookup within half a 4-bit step
    of the int8 table's value, at about half the size."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from stormwatch.training.int8_rows import EMBEDDING_BLOCK, four_bit_embeddings

    vocabulary, width = 300, 64
    table = np.random.default_rng(4).normal(0, 0.1, (vocabulary, width)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["word_embeddings.weight", "ids"], ["y"], name="words")],
        "lookup",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", width])],
        [numpy_helper.from_array(table, "word_embeddings.weight")],
    )
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "f.onnx"
    )
    quantize_dynamic(
        tmp_path / "f.onnx",
        tmp_path / "g8.onnx",
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["Gather"],
    )
    int8 = onnx.load(tmp_path / "g8.onnx")
    four = four_bit_embeddings(int8)
    assert [n.op_type for n in four.graph.node] == ["GatherBlockQuantized"]
    ids = np.array([[0, 5, 299], [17, 17, 3]], dtype=np.int64)
    runs = [
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            ["y"], {"ids": ids}
        )[0]
        for m in (int8, four)
    ]
    held = runs[0].reshape(2, 3, width // EMBEDDING_BLOCK, EMBEDDING_BLOCK)
    half_step = np.abs(held).max(axis=-1, keepdims=True) / 7 / 2
    assert np.all(np.abs(runs[1].reshape(held.shape) - held) <= half_step + 1e-6)
    assert np.abs(runs[1] - runs[0]).max() > 0
    size = sum(len(i.raw_data) for i in four.graph.initializer)
    assert size < 0.7 * sum(len(i.raw_data) for i in int8.graph.initializer)
