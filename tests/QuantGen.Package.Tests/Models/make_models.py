"""Writes the tiny ONNX models the package and build tests use, and prints their expected outputs.

Run with Debian's python3-onnx and python3-numpy, from any folder:
    /usr/bin/python3 tests/QuantGen.Package.Tests/Models/make_models.py
The models and the numbers printed here are committed, so the tests need no Python.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

# y = Relu(Gemm(x, W, b)) = Relu(x @ W + b), x: 1x4, y: 1x3. Weights are small exact binary
# fractions, so the float32 result is exact and the tests can compare with a tight tolerance.
W = np.array([[0.5, -1.0, 0.25],
              [1.5, 0.5, -0.75],
              [-0.5, 0.25, 1.0],
              [0.125, -0.5, 0.5]], dtype=np.float32)
B = np.array([0.25, -0.5, 0.0], dtype=np.float32)
X = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)


def tiny_graph():
    nodes = [
        helper.make_node("Gemm", ["x", "W", "b"], ["xwb"], name="gemm"),
        helper.make_node("Relu", ["xwb"], ["y"], name="relu"),
    ]
    return helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "b")])


def tiny_model():
    model = helper.make_model(tiny_graph(), producer_name="quantgen-tests",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# Token ids with free named dimensions, as text models are exported: y = ReduceMean(E[input_ids], axis 1),
# input_ids: int64 [batch, sequence], E: 10x3, y: [batch, 3]. It compiles only with Dimensions "sequence=N".
E = (np.arange(30, dtype=np.float32).reshape(10, 3) - 15.0) * 0.25


def tiny_tokens_model():
    graph = helper.make_graph(
        [helper.make_node("Gather", ["E", "input_ids"], ["embedded"], name="embed"),
         helper.make_node("ReduceMean", ["embedded"], ["y"], name="mean", axes=[1], keepdims=0)],
        "tiny_tokens",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[numpy_helper.from_array(E, "E")])
    model = helper.make_model(graph, producer_name="quantgen-tests", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    onnx.save_model(tiny_model(), os.path.join(HERE, "tiny.onnx"))
    onnx.save_model(tiny_tokens_model(), os.path.join(HERE, "tiny_tokens.onnx"))

    # The same model with its initializers in an external file beside it (onnx appends to an
    # existing file, so start from none).
    weights = os.path.join(HERE, "tiny_external.weights")
    if os.path.exists(weights):
        os.remove(weights)
    external = tiny_model()
    onnx.save_model(external, os.path.join(HERE, "tiny_external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="tiny_external.weights", size_threshold=0)

    y = np.maximum(X @ W + B, 0).astype(np.float32)
    print("input    ", ", ".join(f"{v:.9g}f" for v in X.ravel()))
    print("expected ", ", ".join(f"{v:.9g}f" for v in y.ravel()))
    ids = np.array([[1, 4, 9, 0]])
    print("tokens   ", ids.tolist(), "->", ", ".join(f"{v:.9g}f" for v in E[ids].mean(axis=1).ravel()))


if __name__ == "__main__":
    main()
