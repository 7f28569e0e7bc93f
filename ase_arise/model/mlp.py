"""The ARISE network's Monte-Carlo dropout passes, evaluated from the weights of its ONNX file.

The graph that :mod:`ase_arise.training.export` writes is a ReLU MLP whose input and hidden
layers are multiplied by dropout masks (inputs of the graph, one row per pass) and whose output
is a softmax. :class:`DropoutMLP` reads its weights out of the file (:func:`read_initializers`:
the few protobuf fields they need) and runs the passes in numpy (BLAS) and serial numba kernels
that release the GIL (the model runs batches on threads, each with one BLAS thread), three ways
faster than the graph in onnxruntime (docs/DECISIONS.md, "The network outside onnxruntime"):

* the input layer's product X W_0 is shared by every pass: dropout removes ~3 % of the 316
  inputs of a pass, and a pass subtracts only their rows of W_0 (~10 of 316);
* bias, ReLU and the next layer's mask are one pass over memory;
* entropies and the sums over the passes are one kernel (one logarithm per pass, not 108):
  the (T, N, 108) probabilities are never stored.

:class:`~ase_arise.model.ARISEModel` checks this evaluator against onnxruntime on every load.
"""

import math
from collections import deque
from itertools import pairwise

import numba
import numpy as np

from ..errors import ModelError

# Passes evaluated together (memory ~ rows x PASS_CHUNK x 512 float32).
PASS_CHUNK = 10
_TENSOR_FLOAT = 1  # onnx.TensorProto.FLOAT
# Reassociation lets LLVM vectorise the loops (results change at the 1e-16 level; no NaN/inf
# assumptions).
_FAST = {"reassoc", "contract", "arcp"}


def _varint(data, pos):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data):
    """(field number, wire type, value) of each field of a protobuf message (a memoryview)."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos:pos + size], pos + size
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated protobuf message")
        yield key >> 3, wire, value


def read_initializers(data):
    """The float32 initializers of an ONNX model: dict name -> ndarray (copies).

    ``data`` is the file's bytes. Reads ModelProto.graph (field 7), its initializers (field 5)
    and of each TensorProto the dims (1), data type (2), float data (4), name (8) and raw data
    (9), as onnx.proto defines them; other fields and tensor types are skipped."""
    out = {}
    data = memoryview(data)
    for field, _, graph in _fields(data):
        if field != 7:
            continue
        for entry, _, tensor in _fields(graph):
            if entry != 5:
                continue
            dims, dtype, name, chunks = [], None, "", []
            for key, wire, value in _fields(tensor):
                if key == 1:
                    dims += list(_unpack_varints(value)) if wire == 2 else [value]
                elif key == 2:
                    dtype = value
                elif key == 8:
                    name = bytes(value).decode("utf-8")
                elif key in (4, 9):
                    chunks.append(bytes(value))
            if dtype == _TENSOR_FLOAT:
                out[name] = np.frombuffer(b"".join(chunks), dtype="<f4").astype(
                    np.float32).reshape(dims)
    return out


def _unpack_varints(data):
    pos = 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        yield value


def in_order(pool, function, items, ahead):
    """``function`` of each of ``items`` on the threads of ``pool``, results in order, with at
    most ``ahead`` items submitted and not yet returned (the items of a long call are never
    all pending at once)."""
    pending = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class DropoutMLP:
    """The MC-dropout ReLU MLP of an ARISE graph.

    Parameters
    ----------
    data : bytes
        The ONNX file: initializers ``W_k`` (in, out) and ``b_k`` (out,), k = 0 ... depth - 1.
    widths : sequence of int
        Layer widths from the model record (316, 256, 512, 256, 108).
    path : path-like
        The file, for error messages.

    Raises
    ------
    ModelError
        The bytes are not ONNX, or the weights are missing or of other shapes.
    """

    def __init__(self, data, widths, path):
        try:
            tensors = read_initializers(data)
        except (ValueError, IndexError) as error:
            raise ModelError(f"{path} is not a readable ONNX file ({error}).") from None
        self.weights, self.biases = [], []
        for k, (n_in, n_out) in enumerate(pairwise(widths)):
            w, b = tensors.get(f"W_{k}"), tensors.get(f"b_{k}")
            if w is None or b is None or w.shape != (n_in, n_out) or b.shape != (n_out,):
                raise ModelError(f"{path}: the graph has no weights W_{k} of shape ({n_in}, "
                                 f"{n_out}) and b_{k} of shape ({n_out},), as "
                                 "ase_arise.training.export writes them. Re-export the model.")
            self.weights.append(np.ascontiguousarray(w))
            self.biases.append(np.ascontiguousarray(b))

    def input_products(self, x):
        """X W_0 (float32, shape (N, width 1)): the part of the input layer every pass shares."""
        return x @ self.weights[0]

    def passes(self, masks):
        """The dropout masks (list of (T, width) arrays, entries 0 or one scale per pass) in
        the form :meth:`sums` takes: the dropped inputs of each pass, their number, the input
        scale, and the hidden masks."""
        first = masks[0]
        scale = first.max(axis=1).astype(np.float32)
        dropped = first == 0
        counts = dropped.sum(axis=1)
        index = np.zeros((len(first), max(int(counts.max(initial=0)), 1)), dtype=np.int64)
        for t, row in enumerate(dropped):
            index[t, :counts[t]] = np.flatnonzero(row)
        return _Passes(index, counts.astype(np.int64), scale, masks[1:])

    def workspace(self, n_rows):
        """Work arrays for :meth:`sums` of up to ``n_rows`` inputs (float32, ~50 MB for 1024):
        one per layer, and one for the exponentials of the last."""
        return [np.empty(PASS_CHUNK * n_rows * b.shape[0], dtype=np.float32)
                for b in self.biases + self.biases[-1:]]

    def sums(self, x, base, passes, work):
        """Sums over ``passes`` of the class probabilities (N, n_classes) and of their
        entropies (N,), float64, bits, for inputs ``x`` (N, 316) with ``base`` =
        :meth:`input_products` of them; ``work`` from :meth:`workspace` (N rows or more)."""
        n = len(x)
        sum_p = np.zeros((n, self.biases[-1].shape[0]))
        sum_entropy = np.zeros(n)
        for first in range(0, passes.n_passes, PASS_CHUNK):
            chunk = passes[first:first + PASS_CHUNK]
            rows = chunk.n_passes * n
            h = work[0][:rows * base.shape[1]].reshape(chunk.n_passes, n, base.shape[1])
            _input_layer(x, base, chunk.index, chunk.counts, self.weights[0], chunk.scale,
                         self.biases[0], chunk.hidden[0], h)
            h = h.reshape(rows, -1)
            for k in range(1, len(self.weights)):
                z = work[k][:rows * self.biases[k].shape[0]].reshape(rows, -1)
                np.matmul(h, self.weights[k], out=z)
                if k < len(self.weights) - 1:
                    _hidden_layer(z, self.biases[k], chunk.hidden[k], n)
                h = z
            # softmax: numpy's exp is vectorised (SIMD), numba's calls libm once per value
            h += self.biases[-1]
            h -= h.max(axis=1, keepdims=True)
            exp = np.exp(h, out=work[-1][:h.size].reshape(h.shape))
            _output_sums(h, exp, n, sum_p, sum_entropy)
        return sum_p, sum_entropy

    def pre_activation(self, x, layer):
        """Hidden layer ``layer`` (1-based) before ReLU, dropout off, float32."""
        h = x
        for k in range(layer):
            if k:
                h = np.maximum(h, 0.0)
            h = h @ self.weights[k] + self.biases[k]
        return h


class _Passes:
    """Dropout passes prepared by :meth:`DropoutMLP.passes`; slicing selects passes."""

    def __init__(self, index, counts, scale, hidden):
        self.index, self.counts, self.scale, self.hidden = index, counts, scale, hidden
        self.n_passes = len(counts)

    def __getitem__(self, passes):
        return _Passes(self.index[passes], self.counts[passes], self.scale[passes],
                       [m[passes] for m in self.hidden])


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _input_layer(x, base, index, counts, w0, scale, bias, mask, out):
    """out[t, n] = ReLU(scale[t] (base[n] - sum over the dropped inputs i of pass t of
    x[n, i] w0[i]) + bias) * mask[t]: the input layer of pass t and its next dropout mask."""
    n_passes, n_rows, width = out.shape
    for tn in range(n_passes * n_rows):
        t = tn // n_rows
        n = tn - t * n_rows
        row = out[t, n]
        row[:] = base[n]
        for k in range(counts[t]):
            i = index[t, k]
            v = x[n, i]
            for j in range(width):
                row[j] -= v * w0[i, j]
        s = scale[t]
        for j in range(width):
            z = s * row[j] + bias[j]
            row[j] = z * mask[t, j] if z > 0.0 else 0.0


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _hidden_layer(z, bias, mask, n_rows):
    """In place: z[r] = ReLU(z[r] + bias) * mask[r // n_rows] (rows ordered pass by pass)."""
    for r in range(z.shape[0]):
        t = r // n_rows
        for j in range(z.shape[1]):
            v = z[r, j] + bias[j]
            z[r, j] = v * mask[t, j] if v > 0.0 else 0.0


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _output_sums(v, exp, n_rows, sum_p, sum_entropy):
    """From the logits less their maximum ``v`` and ``exp`` = e^v (rows ordered pass by pass),
    add each input's softmax probabilities and entropy (bits) of every pass, in pass order, to
    ``sum_p`` and ``sum_entropy`` (float64). H = ln(sum e^v) - sum p v: one logarithm per
    pass, not one per class."""
    n_classes = v.shape[1]
    n_passes = v.shape[0] // n_rows
    inv_ln2 = 1.0 / math.log(2.0)
    for n in range(n_rows):
        sums = sum_p[n]
        for t in range(n_passes):
            e = exp[t * n_rows + n]
            logits = v[t * n_rows + n]
            total = 0.0
            spread = 0.0
            for c in range(n_classes):
                total += e[c]
                spread += e[c] * logits[c]
            inv = 1.0 / total
            for c in range(n_classes):
                sums[c] += e[c] * inv
            sum_entropy[n] += (math.log(total) - spread * inv) * inv_ln2
