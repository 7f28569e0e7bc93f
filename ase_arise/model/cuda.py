"""The network's Monte-Carlo dropout passes on a CUDA card (CuPy): the weights that
:class:`.mlp.DropoutMLP` read from the ONNX file, the same dropout masks as the CPU path,
fp32 cuBLAS products (no TF32 unless CuPy is told so) and sums over the passes in fp64, each
input's in pass order by one thread (deterministic: no atomics).
"""

import numpy as np

# Row-passes evaluated together (memory ~ ROWS x 512 float32 per layer: ~2 GB).
ROWS = 1 << 20

_OUTPUT_SUMS = r"""
extern "C" __global__ void output_sums(const float* logits, const float* bias,
                                       const int n_passes, const long long n_rows,
                                       const int n_classes, double* sum_p, double* sum_h) {
    const long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= n_rows) return;
    const double inv_ln2 = 1.0 / log(2.0);
    double* p = sum_p + n * n_classes;
    for (int t = 0; t < n_passes; ++t) {
        const float* v = logits + ((long long)t * n_rows + n) * n_classes;
        float top = __int_as_float(0xff800000);  // -inf
        for (int c = 0; c < n_classes; ++c) top = fmaxf(top, v[c] + bias[c]);
        double total = 0.0, spread = 0.0;
        for (int c = 0; c < n_classes; ++c) {
            float z = (v[c] + bias[c]) - top;
            float e = expf(z);
            total += e;
            spread += (double)e * z;
        }
        const double inv = 1.0 / total;
        for (int c = 0; c < n_classes; ++c) p[c] += expf((v[c] + bias[c]) - top) * inv;
        sum_h[n] += (log(total) - spread * inv) * inv_ln2;
    }
}
"""
_KERNELS = {}


def _kernels(cupy):
    key = cupy.cuda.Device().id
    if key not in _KERNELS:
        _KERNELS[key] = (
            cupy.RawKernel(_OUTPUT_SUMS, "output_sums"),
            cupy.ElementwiseKernel("float32 b, float32 m", "float32 h",
                                   "h = h + b > 0.0f ? (h + b) * m : 0.0f", "arise_relu_mask"))
    return _KERNELS[key]


class CudaMLP:
    """:class:`.mlp.DropoutMLP`'s weights on the current card.

    Parameters
    ----------
    network : DropoutMLP
    cupy : module
        CuPy (:func:`ase_arise.device.cuda_module`).
    """

    def __init__(self, network, cupy):
        self.cupy = cupy
        self.weights = [cupy.asarray(w) for w in network.weights]
        self.biases = [cupy.asarray(b) for b in network.biases]

    def sums(self, x, masks):
        """Sums over the passes of ``masks`` (list of (T, width) float32 arrays, numpy) of the
        class probabilities (N, n_classes) and their entropies (N,), bits, float64 CuPy
        arrays (they stay on the card), for inputs ``x`` ((N, 316) float32 on the card)."""
        cp = self.cupy
        output_sums, relu_mask = _kernels(cp)
        n, n_passes = len(x), len(masks[0])
        n_classes = self.biases[-1].shape[0]
        sum_p = cp.zeros((n, n_classes))
        sum_h = cp.zeros(n)
        masks = [cp.asarray(m) for m in masks]
        step = max(1, ROWS // max(n_passes, 1))
        for start in range(0, n, step):
            rows = x[start:start + step]
            m = len(rows)
            h = (rows[None] * masks[0][:, None]).reshape(n_passes * m, -1) @ self.weights[0]
            for k in range(1, len(self.weights)):
                relu_mask(self.biases[k - 1], masks[k][:, None], h.reshape(n_passes, m, -1))
                h = h @ self.weights[k]
            output_sums(((m + 127) // 128,), (128,),
                        (h, self.biases[-1], np.int32(n_passes), np.int64(m),
                         np.int32(n_classes), sum_p[start:start + m], sum_h[start:start + m]))
        return sum_p, sum_h
