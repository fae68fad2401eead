"""onnx_numpy.py plus the ops of the extra sample models: Add, GlobalAveragePool,
QuantizeLinear and DequantizeLinear.

Same approach as onnx_numpy.py (whose helpers it reuses): run the graph as stored in
the file, float64 between nodes, unknown ops raise. It is a separate module only
because onnx_numpy.py belongs to the first sample's script; fold it in whenever.

QuantizeLinear / DequantizeLinear follow the ONNX spec (opset 13):
    q = saturate(round_half_to_even(x / scale) + zero_point)   uint8 [0, 255] or int8 [-128, 127]
    x = (q - zero_point) * scale
with the division and the product in float32, as a float32 runtime does them (x is cast
to float32 first). A 1-element scale (torch writes per-tensor scales as shape [1], not
as scalars) is per tensor; a longer 1-D scale is per axis along `axis` (default 1).
torch's own fake quantization multiplies by 1/scale instead of dividing, so the two can
land on different sides of a .5 tie now and then: that is the only expected mismatch.
"""
import numpy as np
from onnx import TensorProto, numpy_helper

from onnx_numpy import _attrs, _conv, _maxpool

_QRANGE = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}


def _per_axis(param, ndim, axis):
    """Shape a scale/zero point for broadcasting: per tensor if it has one element."""
    param = np.asarray(param)
    if param.size == 1:
        return param.reshape(())
    if param.ndim != 1:
        raise NotImplementedError(f"Q/DQ parameter of shape {param.shape}")
    axis = axis % ndim
    return param.reshape([-1 if i == axis else 1 for i in range(ndim)])


def quantize_linear(x, scale, zero_point=None, axis=1):
    x = np.asarray(x, dtype=np.float32)
    zp_dtype = np.dtype(np.uint8) if zero_point is None else np.asarray(zero_point).dtype
    if zp_dtype not in _QRANGE:
        raise NotImplementedError(f"QuantizeLinear to {zp_dtype}")
    lo, hi = _QRANGE[zp_dtype]
    s = _per_axis(np.asarray(scale, dtype=np.float32), x.ndim, axis)
    z = 0 if zero_point is None else _per_axis(zero_point, x.ndim, axis).astype(np.int64)
    q = np.rint(x / s).astype(np.int64) + z  # np.rint: round half to even; x / s in float32
    return np.clip(q, lo, hi).astype(zp_dtype)


def dequantize_linear(q, scale, zero_point=None, axis=1):
    q = np.asarray(q)
    s = _per_axis(np.asarray(scale, dtype=np.float32), q.ndim, axis)
    z = 0 if zero_point is None else _per_axis(zero_point, q.ndim, axis).astype(np.int32)
    return ((q.astype(np.int32) - z).astype(np.float32) * s).astype(np.float32)


def run(model, inputs):
    """Run `model` (onnx.ModelProto) on a dict name -> array; returns a dict of graph outputs.

    Float tensors are float64 between nodes; integer tensors (quantized values, zero
    points) keep their type.
    """
    def load(t):
        v = numpy_helper.to_array(t)
        return v.astype(np.float64) if v.dtype.kind == "f" else v

    env = {t.name: load(t) for t in model.graph.initializer}
    env.update({k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()})
    for node in model.graph.node:
        a = _attrs(node)
        x = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = _conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op == "BatchNormalization":
            if a.get("training_mode", 0):
                raise NotImplementedError("BatchNormalization training_mode=1")
            inp, scale, bias, mean, var = x
            shape = (1, -1) + (1,) * (inp.ndim - 2)
            y = (inp - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + a.get("epsilon", 1e-5)) \
                * scale.reshape(shape) + bias.reshape(shape)
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "MaxPool":
            y = _maxpool(x[0], a)
        elif op == "GlobalAveragePool":
            y = x[0].mean(axis=tuple(range(2, x[0].ndim)), keepdims=True)
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
        elif op == "Reshape":
            y = x[0].reshape([d if d != 0 else x[0].shape[i] for i, d in enumerate(x[1].astype(np.int64))])
        elif op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(x) > 2 and x[2] is not None:
                y = y + a.get("beta", 1.0) * x[2]
        elif op == "QuantizeLinear":
            y = quantize_linear(x[0], x[1], x[2] if len(x) > 2 else None, a.get("axis", 1))
        elif op == "DequantizeLinear":
            y = dequantize_linear(x[0], x[1], x[2] if len(x) > 2 else None, a.get("axis", 1)).astype(np.float64)
        elif op in ("Identity", "Dropout"):
            y = x[0]
        elif op == "Constant":
            y = a["value"]
        else:
            raise NotImplementedError(f"op {op} (node {node.name})")
        env[node.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}


def qdq_summary(model):
    """Describe every QuantizeLinear/DequantizeLinear node: per tensor or per axis, scale,
    zero point dtype and values, and whether its input is a weight (initializer) or an
    activation. Zero points fed through Identity nodes (torch shares equal constants that
    way) are followed back to their initializer."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    alias = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity"}

    def const(name):
        while name in alias:
            name = alias[name]
        return inits.get(name)

    producer = {o: n for n in model.graph.node for o in n.output}
    rows = []
    for n in model.graph.node:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        scale = const(n.input[1])
        zp = const(n.input[2]) if len(n.input) > 2 and n.input[2] else None
        src = n.input[0]
        if n.op_type == "DequantizeLinear" and src in producer and producer[src].op_type == "QuantizeLinear":
            src = producer[src].input[0]
        kind = "weight" if const(src) is not None else "activation"
        axis = next((a.i for a in n.attribute if a.name == "axis"), None)
        rows.append({
            "node": n.name, "op": n.op_type, "input": src, "of": kind,
            "granularity": "per_tensor" if scale.size == 1 else f"per_axis(axis={axis if axis is not None else 1})",
            "channels": int(scale.size),
            "scale": [float(f"{v:.9g}") for v in scale.reshape(-1)] if scale.size <= 4 else
                     {"min": float(scale.min()), "max": float(scale.max())},
            "zero_point_dtype": TensorProto.DataType.Name(
                TensorProto.UINT8 if zp is None else numpy_helper.from_array(zp).data_type),
            "zero_points": sorted({int(v) for v in (np.zeros(1) if zp is None else zp).reshape(-1)}),
        })
    return rows
