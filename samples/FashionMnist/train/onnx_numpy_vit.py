"""onnx_numpy.py plus the ops a small Vision Transformer exports to (train_vit.py).

Same approach as onnx_numpy.py (whose helpers it reuses): run the graph as stored in
the file, float64 between nodes, unknown ops raise. Covers what torch 1.13 writes for
fashion_vit at opset 17 (LayerNormalization, the erf GELU, attention as MatMul /
Softmax / Transpose / Reshape, the batch-dependent shape arithmetic of the class token
and of the attention reshapes) and at opset 13 (LayerNorm decomposed into ReduceMean,
Sub, Pow, Sqrt, Div). Erf is math.erf element by element: slow, exact, and independent
of torch.
"""
import math

import numpy as np
from onnx import numpy_helper

from onnx_numpy import _attrs, _conv

_erf = np.vectorize(math.erf, otypes=[np.float64])

_BINARY = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power,
    "Equal": np.equal,
}


def _as_float(v):
    return v.astype(np.float64) if v.dtype.kind == "f" else v


def _slice(x, starts, ends, axes, steps):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))
    return x[tuple(index)]


def _axes(node_inputs, attrs, position):
    """Axes from the input at `position` (opset 13+ Unsqueeze/Squeeze/ReduceSum) or the attribute."""
    if len(node_inputs) > position and node_inputs[position] is not None:
        return [int(a) for a in node_inputs[position]]
    return attrs.get("axes")


def run(model, inputs):
    """Run `model` (onnx.ModelProto) on a dict name -> array; returns a dict of graph outputs."""
    env = {t.name: _as_float(numpy_helper.to_array(t)) for t in model.graph.initializer}
    env.update({k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()})
    for node in model.graph.node:
        a = _attrs(node)
        x = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = _conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op in _BINARY:
            y = _BINARY[op](x[0], x[1])
        elif op == "MatMul":
            y = np.matmul(x[0], x[1])
        elif op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(x) > 2 and x[2] is not None:
                y = y + a.get("beta", 1.0) * x[2]
        elif op == "Erf":
            y = _erf(x[0])
        elif op == "Sqrt":
            y = np.sqrt(x[0])
        elif op == "Softmax":
            axis = a.get("axis", -1)
            e = np.exp(x[0] - x[0].max(axis=axis, keepdims=True))
            y = e / e.sum(axis=axis, keepdims=True)
        elif op == "LayerNormalization":
            axis = a.get("axis", -1)
            axes = tuple(range(axis % x[0].ndim, x[0].ndim))
            mean = x[0].mean(axis=axes, keepdims=True)
            var = ((x[0] - mean) ** 2).mean(axis=axes, keepdims=True)
            y = (x[0] - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * x[1]
            if len(x) > 2 and x[2] is not None:
                y = y + x[2]
        elif op == "ReduceMean":
            axes = _axes(x, a, 1)
            y = x[0].mean(axis=tuple(axes) if axes is not None else None, keepdims=bool(a.get("keepdims", 1)))
        elif op == "Transpose":
            y = np.transpose(x[0], a.get("perm"))
        elif op == "Reshape":
            shape = [d if d != 0 else x[0].shape[i] for i, d in enumerate(x[1].astype(np.int64))]
            y = x[0].reshape(shape)
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
        elif op == "Unsqueeze":
            y = x[0]
            for ax in sorted(ax % (x[0].ndim + len(_axes(x, a, 1))) for ax in _axes(x, a, 1)):
                y = np.expand_dims(y, ax)
        elif op == "Squeeze":
            axes = _axes(x, a, 1)
            y = np.squeeze(x[0], axis=tuple(axes) if axes is not None else None)
        elif op == "Concat":
            y = np.concatenate(x, axis=a["axis"])
        elif op == "Gather":
            y = np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "Slice":
            y = _slice(x[0], x[1], x[2], x[3] if len(x) > 3 else None, x[4] if len(x) > 4 else None)
        elif op == "Split":
            axis = a.get("axis", 0)
            sizes = x[1] if len(x) > 1 and x[1] is not None else [x[0].shape[axis] // len(node.output)] * len(node.output)
            y = np.split(x[0], np.cumsum(sizes)[:-1].astype(np.int64), axis=axis)
        elif op == "Shape":
            y = np.array(x[0].shape, dtype=np.int64)
        elif op == "ConstantOfShape":
            value = a.get("value", np.zeros(1, dtype=np.float32))
            y = np.full(x[0].astype(np.int64), value.reshape(-1)[0], dtype=value.dtype)
        elif op == "Expand":
            y = x[0] * np.ones(x[1].astype(np.int64), dtype=x[0].dtype)
        elif op == "Where":
            y = np.where(x[0], x[1], x[2])
        elif op == "Cast":
            y = x[0].astype({1: np.float64, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}[a["to"]])
        elif op in ("Identity", "Dropout"):
            y = x[0]
        elif op == "Constant":
            y = _as_float(a["value"])
        else:
            raise NotImplementedError(f"op {op} (node {node.name})")
        if op == "Split":
            for name, part in zip(node.output, y):
                env[name] = part
        else:
            env[node.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}
