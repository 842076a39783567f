"""Rewrite a block-quantised ONNX graph so that its weight matrix products run in 8-bit
integers with one scale per token row.

Every `MatMulNBits` node (weights in 4- or 8-bit blocks, as `finalize` writes them) becomes:
the activations reshaped to rows, each row scaled by its own largest magnitude and rounded
to uint8 (`QuantizeLinear`, one scale per row), an integer product with the weights
re-quantised to int8 per output column (`MatMulInteger`), and the two scales multiplied back.

Why: onnxruntime's integer GEMM (VNNI / AMX on x86) ran the accurate tier ~1.5x faster than
its 4-bit kernels on the 2-core machine, and a scale per row keeps every token — so every
post — independent of the posts batched with it. `quantize_dynamic`'s single scale per
tensor does not (a post's probabilities moved by ~0.02 with its batch), which is why it was
rejected before. `four_bit_embeddings` then stores the word-embedding table in 4-bit
blocks, which keeps the file as small as the 4-bit model it came from. Training-time only:
needs the `onnx` package."""

from __future__ import annotations

from typing import Any

import numpy as np

ZERO_POINT = 128  # uint8 rows: round(x / scale) + 128 stays within 1..255


def block_weights(node: Any, initializers: dict[str, np.ndarray]) -> np.ndarray:
    """The (K, N) float32 matrix a symmetric `MatMulNBits` node multiplies by: its packed
    blocks unpacked and scaled, exactly as onnxruntime dequantises them."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    k, n, bits, block = attrs["K"], attrs["N"], attrs["bits"], attrs["block_size"]
    if len(node.input) > 3 and any(node.input[3:]):
        raise ValueError(f"{node.name}: zero points, group indices or a bias are not handled")
    if bits not in (4, 8):
        raise ValueError(f"{node.name}: {bits}-bit blocks are not handled")
    packed = initializers[node.input[1]]  # (N, blocks, bytes per block)
    scales = initializers[node.input[2]].astype(np.float32).reshape(n, -1)
    if bits == 4:
        # Two values per byte, the low nibble first; stored with an offset of 8.
        values = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, packed.shape[1], -1)
        offset = 8
    else:
        values, offset = packed, 128
    values = values[:, :, :block].astype(np.float32) - offset
    return np.ascontiguousarray((values * scales[:, :, None]).reshape(n, -1)[:, :k].T)


def column_int8(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 weights, float32 scale per column), symmetric: w ~= q * scale."""
    scale = np.maximum(np.abs(weights).max(axis=0), 1e-12).astype(np.float32) / 127.0
    return np.clip(np.round(weights / scale), -127, 127).astype(np.int8), scale


def int8_rows(model: Any) -> Any:
    """A copy of `model` (an onnx ModelProto) with every MatMulNBits node rewritten as above;
    every other node is kept as it is."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    shared = {
        "int8rows.max_int": np.array(127.0, np.float32),
        "int8rows.tiny": np.array(1e-8, np.float32),
        "int8rows.zero_point": np.array(ZERO_POINT, np.uint8),
        "int8rows.axis1": np.array([1], np.int64),
        "int8rows.first": np.array([0], np.int64),
        "int8rows.last": np.array([-1], np.int64),
    }
    added: dict[str, np.ndarray] = {}
    replaced: set[str] = set()
    nodes = []
    for node in graph.node:
        if node.op_type != "MatMulNBits":
            nodes.append(node)
            continue
        weights, scale = column_int8(block_weights(node, initializers))
        k, n = weights.shape
        p = node.name or node.output[0]
        added |= {
            f"{p}.weights": weights,
            f"{p}.column_scale": scale,
            f"{p}.rows_shape": np.array([-1, k], np.int64),
            f"{p}.columns": np.array([n], np.int64),
        }
        replaced.update(node.input[1:3])
        x, y = node.input[0], node.output[0]

        def make(op: str, inputs: list[str], output: str, p: str = p, **attrs: Any) -> Any:
            return helper.make_node(op, inputs, [f"{p}.{output}"], name=f"{p}.{output}", **attrs)

        nodes += [
            make("Shape", [x], "shape"),
            make("Reshape", [x, f"{p}.rows_shape"], "rows"),
            make("Abs", [f"{p}.rows"], "abs"),
            make("ReduceMax", [f"{p}.abs"], "row_max", axes=[1], keepdims=0),
            make("Div", [f"{p}.row_max", "int8rows.max_int"], "row_scale_raw"),
            make("Max", [f"{p}.row_scale_raw", "int8rows.tiny"], "row_scale"),
            make("Shape", [f"{p}.row_scale"], "row_count"),
            make("Expand", ["int8rows.zero_point", f"{p}.row_count"], "row_zero_points"),
            make(
                "QuantizeLinear",
                [f"{p}.rows", f"{p}.row_scale", f"{p}.row_zero_points"],
                "rows_uint8",
                axis=0,
            ),
            make(
                "MatMulInteger",
                [f"{p}.rows_uint8", f"{p}.weights", "int8rows.zero_point"],
                "product_int32",
            ),
            make("Cast", [f"{p}.product_int32"], "product", to=TensorProto.FLOAT),
            make("Unsqueeze", [f"{p}.row_scale", "int8rows.axis1"], "row_scale_column"),
            make("Mul", [f"{p}.product", f"{p}.row_scale_column"], "scaled_rows"),
            make("Mul", [f"{p}.scaled_rows", f"{p}.column_scale"], "scaled"),
            make("Slice", [f"{p}.shape", "int8rows.first", "int8rows.last"], "leading"),
            make("Concat", [f"{p}.leading", f"{p}.columns"], "out_shape", axis=0),
        ]
        nodes.append(helper.make_node("Reshape", [f"{p}.scaled", f"{p}.out_shape"], [y], name=p))
    if not replaced:
        raise ValueError("no MatMulNBits node to rewrite: quantise the weights in blocks first")
    kept = [i for i in graph.initializer if i.name not in replaced]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in (shared | added).items())
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


EMBEDDING_BLOCK = 32


def four_bit_embeddings(model: Any) -> Any:
    """A copy of `model` whose word-embedding table (the largest tensor: 30,522 x 384, int8
    with one scale after `finalize`) is stored in 4-bit blocks of 32 along each row, looked
    up by onnxruntime's `GatherBlockQuantized`, which returns floats directly. It halves
    the table (11.2 -> 7.1 MiB with its scales), so the shipped model stays under 20 MiB
    with its int8 matrices (see `int8_rows`), at no load-time cost."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    by_input: dict[str, Any] = {}
    for node in graph.node:
        for name in node.input:
            by_input.setdefault(name, node)
    gather = next(
        n
        for n in graph.node
        if n.op_type == "Gather" and n.input[0].endswith("word_embeddings.weight_quantized")
    )
    dequantise = by_input[gather.output[0]]
    if dequantise.op_type != "DequantizeLinear":
        raise ValueError("the word embeddings are not int8 with a DequantizeLinear after them")
    table, scale, zero = (initializers[name] for name in (gather.input[0], *dequantise.input[1:3]))
    floats = (table.astype(np.float32) - np.float32(zero)) * np.float32(scale)
    rows, width = floats.shape
    if width % EMBEDDING_BLOCK:
        raise ValueError(f"embedding width {width} is not a multiple of {EMBEDDING_BLOCK}")
    blocks = floats.reshape(rows, width // EMBEDDING_BLOCK, EMBEDDING_BLOCK)
    scales = np.maximum(np.abs(blocks).max(axis=-1) / 7, 1e-12).astype(np.float32)
    steps = np.clip(np.round(blocks / scales[..., None]) + 8, 0, 15).astype(np.uint8)
    steps = steps.reshape(rows, width)
    packed = steps[:, 0::2] | (steps[:, 1::2] << 4)  # two values a byte, the low nibble first
    zeros = np.full((rows, (width // EMBEDDING_BLOCK + 1) // 2), 0x88, np.uint8)
    prefix = gather.input[0].removesuffix("_quantized")
    lookup = helper.make_node(
        "GatherBlockQuantized",
        [f"{prefix}.four_bit", gather.input[1], f"{prefix}.block_scales", f"{prefix}.zeros"],
        [dequantise.output[0]],
        name=f"{prefix}.lookup",
        domain="com.microsoft",
        gather_axis=0,
        quantize_axis=1,
        block_size=EMBEDDING_BLOCK,
        bits=4,
    )
    nodes = []
    for node in graph.node:
        if node is gather:
            nodes.append(lookup)
        elif node is not dequantise:
            nodes.append(node)
    dropped = {gather.input[0], *dequantise.input[1:3]}
    kept = [i for i in graph.initializer if i.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.initializer.extend(
        numpy_helper.from_array(array, name)
        for name, array in (
            (f"{prefix}.four_bit", packed),
            (f"{prefix}.block_scales", scales),
            (f"{prefix}.zeros", zeros),
        )
    )
    del graph.node[:]
    graph.node.extend(nodes)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    return model
