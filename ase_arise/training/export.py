"""Write the trained network as an ONNX graph with Monte-Carlo dropout, plus its metadata file.

The graph is built with ``onnx.helper`` from the weight matrices (no torch exporter needed).
Dropout stays active at inference, but its masks are inputs of the graph: T masks per layer,
drawn by :class:`ase_arise.model.ARISEModel` from the user's ``random_state`` and shared by all
structures of a call. Each structure thus sees T independent dropout networks, as MC dropout
requires, and results depend on the seed only, never on batch size or thread count.

Inputs: ``descriptors`` (N, 316) and ``mask_0`` ... ``mask_3`` (T, width of the layer they drop:
316, 256, 512, 256), float32, already divided by the keep probability (inverted dropout).
Outputs: ``probabilities`` (T, N, 108), ``pre_activation_1`` ... ``pre_activation_3``
(T, N, width): the hidden layers before ReLU.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..io.atomic import atomic_output
from ..model.record import CHECKSUM_KEY, FORMAT, record_digest


def build_graph(weights, biases):
    """The ONNX model of the MLP ``weights[k]`` (in, out) / ``biases[k]`` (out,) with masks."""
    widths = [weights[0].shape[0]] + [w.shape[1] for w in weights]
    n_hidden = len(weights) - 1
    inputs = [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["N", widths[0]])]
    inputs += [helper.make_tensor_value_info(f"mask_{k}", TensorProto.FLOAT, ["T", widths[k]])
               for k in range(n_hidden + 1)]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                             ["T", "N", widths[-1]])]
    outputs += [helper.make_tensor_value_info(f"pre_activation_{k + 1}", TensorProto.FLOAT,
                                              ["T", "N", widths[k + 1]]) for k in range(n_hidden)]
    initializers = [numpy_helper.from_array(np.array([0], dtype=np.int64), "axis_0"),
                    numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_1")]
    nodes = [helper.make_node("Unsqueeze", ["descriptors", "axis_0"], ["x_0"])]
    current = "x_0"
    for k, (w, b) in enumerate(zip(weights, biases)):
        initializers += [numpy_helper.from_array(np.asarray(w, dtype=np.float32), f"W_{k}"),
                         numpy_helper.from_array(np.asarray(b, dtype=np.float32), f"b_{k}")]
        nodes += [helper.make_node("Unsqueeze", [f"mask_{k}", "axis_1"], [f"m_{k}"]),
                  helper.make_node("Mul", [current, f"m_{k}"], [f"dropped_{k}"]),
                  helper.make_node("MatMul", [f"dropped_{k}", f"W_{k}"], [f"z_{k}"])]
        if k < n_hidden:
            nodes += [helper.make_node("Add", [f"z_{k}", f"b_{k}"], [f"pre_activation_{k + 1}"]),
                      helper.make_node("Relu", [f"pre_activation_{k + 1}"], [f"h_{k + 1}"])]
            current = f"h_{k + 1}"
        else:
            nodes += [helper.make_node("Add", [f"z_{k}", f"b_{k}"], ["logits"]),
                      helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1)]
    graph = helper.make_graph(nodes, "arise_mc_dropout_mlp", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="arise")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_model(weights, biases, dropout, path, metadata):
    """Write ``path`` (.onnx) and its metadata file (same name, .json).

    Parameters
    ----------
    weights, biases : lists of ndarray
        Layer k maps width k to width k + 1: ``weights[k]`` of shape (in, out).
    dropout : float
        Dropout rate of every layer (input included).
    path : path-like
        The .onnx file to write.
    metadata : dict
        Class keys and names, descriptor parameters, training record, metrics; the format tag,
        architecture, dropout, the ONNX file's SHA-256 and the record's own checksum are added
        here. Both files are written atomically (an interrupted write leaves the old ones).

    Returns
    -------
    pathlib.Path
        The metadata file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build_graph(weights, biases).SerializeToString()
    with atomic_output(path, "wb") as handle:
        handle.write(data)
    widths = [int(np.shape(weights[0])[0])] + [int(np.shape(w)[1]) for w in weights]
    record = {
        "format": FORMAT,
        "onnx_file": path.name,
        "onnx_sha256": hashlib.sha256(data).hexdigest(),
        "architecture": {"widths": widths, "activation": "relu", "dropout": float(dropout),
                         "dropout_layers": "input and every hidden layer"},
        **metadata,
    }
    record[CHECKSUM_KEY] = record_digest(record)
    meta_path = path.with_suffix(".json")
    with atomic_output(meta_path, encoding="utf-8") as handle:
        handle.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return meta_path
