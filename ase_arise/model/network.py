"""The shipped ARISE network: Monte-Carlo dropout predictions and uncertainty.

Leitherer, Ziletti & Ghiringhelli, Nature Communications 12, 6234 (2021), Supplementary
Methods "Bayesian deep learning": T forward passes with dropout on give class probabilities
p_t; the prediction is their mean p = mean_t p_t, the predictive entropy H[p] and the mutual
information MI = H[p] - mean_t H[p_t] (the model's epistemic uncertainty). Entropies are in bits
(log base 2, as the paper's code): MI lies in [0, log2 108 = 6.75].

A model is an ONNX file plus a JSON metadata file of the same name (see
:mod:`ase_arise.training.export`); both are verified on load. The default model ships inside the
package (``ase_arise/models``, from the repository's ``models/`` folder). The passes run in
:class:`~.mlp.DropoutMLP`, from the graph's weights; onnxruntime loads the graph and checks that
evaluator against it on every load.
"""

import functools
import hashlib
import numbers
import queue
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import onnxruntime
from threadpoolctl import ThreadpoolController

from .._random import check_random_state
from .._validation import check_scalar
from ..errors import InputError, ModelError, one_line
from ..prototypes import load_prototypes
from ..device import check_device, cuda_module, on_card, to_host
from .cuda import CudaMLP
from .mlp import PASS_CHUNK, DropoutMLP, in_order
from .other import anisotropy
from .record import check_graph, check_passes, read_record

DEFAULT_MODEL_NAME = "arise-108.onnx"
# Hidden layer whose representations are returned when none is asked for (of structures and of
# SPM boxes alike): all three find the four grains of the paper's polycrystal, the last one most
# sharply (docs/DECISIONS.md).
DEFAULT_LAYER = 3
# Passes per block of adaptive MC-dropout sampling (ARISEModel.predict, tolerance=...).
ADAPTIVE_BLOCK = 10
# The load check: onnxruntime and DropoutMLP agree on these many probe inputs and passes to
# within this (probabilities; float32 sums in another order differ by ~1e-6).
_PROBE_INPUTS, _PROBE_PASSES, _PROBE_TOLERANCE = 16, 4, 1e-4


def default_model_path():
    """Path of the shipped model: inside the installed package, else the source tree's models/."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "models", package.parent / "models"):
        if (folder / DEFAULT_MODEL_NAME).exists():
            return folder / DEFAULT_MODEL_NAME
    raise ModelError(f"The shipped model {DEFAULT_MODEL_NAME} was not found in {package / 'models'}"
                     f" or {package.parent / 'models'}. Reinstall the package, or pass the path of"
                     " a model file.")


@functools.cache
def _blas():
    """The process's thread pools (threadpoolctl), found once (~1.5 ms a ``predict`` call)."""
    return ThreadpoolController()


@dataclass(frozen=True)
class Prediction:
    """Monte-Carlo dropout prediction for N inputs.

    Attributes
    ----------
    probabilities : ndarray of shape (N, n_classes), float64
        Mean class probabilities over the passes.
    entropy : ndarray of shape (N,), float64
        Predictive entropy H[mean p], bits.
    mutual_information : ndarray of shape (N,), float64
        H[mean p] - mean H[p_t], bits (>= 0).
    n_samples : int
        Number of forward passes T asked for.
    passes : ndarray of shape (N,), int64
        Passes each input got (``n_samples`` unless sampling was adaptive).
    """

    probabilities: np.ndarray
    entropy: np.ndarray
    mutual_information: np.ndarray
    n_samples: int
    passes: np.ndarray


def _entropy_bits(p, axis=-1, xp=np):
    p = xp.clip(p, np.finfo(p.dtype).tiny, 1.0)
    return -(p * xp.log2(p)).sum(axis=axis)


class ARISEModel:
    """An ARISE network (ONNX) with its metadata, verified on load.

    Parameters
    ----------
    path : path-like, optional
        The .onnx file; its metadata must lie beside it with the suffix .json. Default: the
        shipped model.
    n_threads : int, optional
        Threads of the network's passes, each evaluating whole batches with one BLAS thread
        (default: numba's thread count, all cores unless limited). Results do not depend on
        it.

    Raises
    ------
    ModelError
        Missing files, a checksum mismatch, a class list or descriptor record that does not
        fit this package.
    """

    def __init__(self, path=None, *, n_threads=None):
        path = default_model_path() if path is None else Path(path)
        meta_path = path.with_suffix(".json")
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise ModelError(f"Model file {path} {what}. Pass the path of an .onnx model file "
                             "written by ase_arise.training, or None for the shipped model.")
        if not meta_path.is_file():
            raise ModelError(f"Model metadata {meta_path} is missing: a model is an .onnx file "
                             "plus a .json file of the same name.")
        self.metadata = read_record(meta_path)
        data = path.read_bytes()
        self._verify(data, path)
        if n_threads is not None:
            n_threads = check_scalar(n_threads, "n_threads", kind=numbers.Integral, low=1,
                                     low_inclusive=True)
        self.n_threads = n_threads
        try:
            session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelError(f"{path} is not a graph onnxruntime can load "
                             f"({one_line(error)}). Re-export the model.") from None
        check_graph(session, self.metadata, path)
        self.path = path
        architecture = self.metadata["architecture"]
        self.widths = tuple(architecture["widths"])
        self.dropout = float(architecture["dropout"])
        self._network = DropoutMLP(data, self.widths, path)
        self._check_network(session)

    def _verify(self, data, path):
        meta = self.metadata
        digest = hashlib.sha256(data).hexdigest()
        if digest != meta["onnx_sha256"]:
            raise ModelError(f"Checksum mismatch: {path} has SHA-256 {digest[:12]}..., its "
                             f"metadata records {str(meta['onnx_sha256'])[:12]}...; the files "
                             "do not belong together (re-export the model).")
        if meta.get("class_set", "arise-108") == "arise-108" and \
                [p.key for p in load_prototypes()] != meta["classes"]:
            raise ModelError(f"{path}: its class list is not the 108 prototypes in this "
                             "package's order (class_set 'arise-108').")

    def _check_network(self, session):
        """DropoutMLP on seeded probe inputs and masks against the graph in onnxruntime."""
        rng = np.random.default_rng(0)
        probe = rng.random((_PROBE_INPUTS, self.widths[0]), dtype=np.float32)
        probe /= np.linalg.norm(probe, axis=1, keepdims=True)
        masks = self.masks(_PROBE_PASSES, rng)
        (expected,) = session.run(["probabilities"], {
            "descriptors": probe, **{f"mask_{k}": m for k, m in enumerate(masks)}})
        for t in range(_PROBE_PASSES):
            one = self._network.passes([m[t:t + 1] for m in masks])
            p, _ = self._network.sums(probe, self._network.input_products(probe), one,
                                      self._network.workspace(len(probe)))
            gap = float(np.abs(p - expected[t]).max())
            if not gap <= _PROBE_TOLERANCE:
                raise ModelError(f"{self.path}: its graph is not the MC-dropout MLP this "
                                 "package evaluates (its probabilities differ by "
                                 f"{gap:.2g} from those of the weights W_k, b_k). Re-export the "
                                 "model with ase_arise.training.export.")

    def __repr__(self):
        return (f"ARISEModel({self.path.name!r}, {len(self.classes)} classes, "
                f"sha256 {self.metadata['onnx_sha256'][:12]})")

    @property
    def classes(self):
        """Class keys in output order (list of str)."""
        return list(self.metadata["classes"])

    @property
    def class_names(self):
        """Readable class names in output order (list of str)."""
        return list(self.metadata["class_names"])

    @property
    def default_n_samples(self):
        """Number of MC-dropout passes used when none is given (chosen by measurement)."""
        return int(self.metadata["n_samples_default"])

    @property
    def min_anisotropy(self):
        """The calibrated "Other" threshold (:mod:`.other`); 0 (never Other) for a record
        written before 0.3.0 that has none."""
        return float(self.metadata.get("other", {}).get("min_anisotropy", 0.0))

    def anisotropy(self, descriptors):
        """The "Other" score of descriptors (:func:`.other.anisotropy`), shape (N,)."""
        params = self.metadata["descriptor"]
        return anisotropy(descriptors, params["n_max"], params["l_max"])

    def descriptor(self, device="cpu"):
        """An :class:`~ase_arise.descriptor.ARISEDescriptor` with the model's parameters,
        computing on ``device``."""
        from ..descriptor import ARISEDescriptor

        params = self.metadata["descriptor"]
        return ARISEDescriptor(r_cut=params["r_cut"], sigma=params["sigma"],
                               extrinsic_scaling=params["extrinsic_scaling"],
                               n_max=params["n_max"], l_max=params["l_max"],
                               bins=params.get("bins", 100), device=device)

    def masks(self, n_samples, random_state):
        """Dropout masks for ``n_samples`` passes: list of (n_samples, width) float32 arrays,
        entries 0 or 1 / (1 - dropout)."""
        rng = check_random_state(random_state)
        keep = 1.0 - self.dropout
        return [((rng.random((n_samples, width)) < keep) / keep).astype(np.float32)
                for width in self.widths[:-1]]

    def _check_inputs(self, descriptors, xp=np):
        """The descriptors as float32 rows of ``xp`` (CuPy: on the current card; rows already
        there stay there), checked."""
        X = (descriptors.astype(np.float32, copy=False) if xp is not np and on_card(descriptors)
             else xp.asarray(np.asarray(to_host(descriptors), dtype=np.float32)))
        if X.ndim == 1:
            X = X[None]
        if X.ndim != 2 or X.shape[1] != self.widths[0]:
            raise InputError(f"The 'descriptors' must have shape (N, {self.widths[0]}); got "
                             f"{np.shape(descriptors)}.")
        if not bool(xp.isfinite(X).all()):
            raise InputError("The 'descriptors' contain NaN or infinite values: describe only "
                             "structures with a neighbour pair (their rows are finite).")
        return X

    def predict(self, descriptors, *, n_samples=None, random_state=None, batch_size=256,
                tolerance=None, device="cpu"):
        """MC-dropout prediction for descriptors.

        Parameters
        ----------
        descriptors : array_like of shape (N, 316) or (316,)
            Or a CuPy array on the card of ``device``: the rows are not copied to the host.
        n_samples : int, optional
            Forward passes T (default: the model's ``default_n_samples``).
        random_state : None, int or numpy.random.Generator
            Seeds the dropout masks; the same seed gives the same result whatever
            ``batch_size`` or the number of threads.
        batch_size : int, default=256
            Inputs evaluated together (memory ~ batch_size * 10 * 512 float32).
        tolerance : float, optional
            Adaptive sampling: passes run in blocks of ``ADAPTIVE_BLOCK``, and an input stops
            once a block changed its top class not at all, its mean probabilities by less than
            ``tolerance`` and its MI by less than ``tolerance`` bits (at most ``n_samples``
            passes). None: every input gets ``n_samples`` passes. An input's result depends on
            its own descriptor and the seed only.
        device : {"cpu", "cuda", "cuda:N"}, default="cpu"
            Where the passes run (:mod:`ase_arise.device`): the same masks, fp32 products;
            probabilities agree with the CPU's to ~1e-6. ``batch_size`` is not used there
            (the card takes ~10^6 row-passes at a time).

        Returns
        -------
        Prediction
        """
        n_samples = self.default_n_samples if n_samples is None else check_passes(n_samples)
        batch_size = check_scalar(batch_size, "batch_size", kind=numbers.Integral, low=1,
                                  low_inclusive=True)
        if tolerance is not None:
            tolerance = check_scalar(tolerance, "tolerance", low=0.0, low_inclusive=True)
        device = check_device(device)
        masks = self.masks(n_samples, random_state)
        if device != "cpu":
            cupy, card = cuda_module(device)
            with card:
                gpu, rows = CudaMLP(self._network, cupy), self._check_inputs(descriptors, cupy)

                def passes_on_card(active, first, last):
                    yield gpu.sums(rows[active], [m[first:last] for m in masks])

                return self._predict(len(rows), n_samples, tolerance, passes_on_card, xp=cupy)
        X = self._check_inputs(descriptors)
        network = self._network
        all_passes = network.passes(masks)
        n_threads = self.n_threads or numba.get_num_threads()
        with self._pool(n_threads) as pool:
            starts = range(0, len(X), batch_size)
            base = np.concatenate(list(pool.map(
                lambda s: network.input_products(X[s:s + batch_size]), starts)) or
                [np.empty((0, self.widths[1]), np.float32)])
            workspaces = queue.SimpleQueue()  # one per thread at most, reused

            def batch(rows, chunk):
                try:
                    work = workspaces.get_nowait()
                except queue.Empty:
                    work = network.workspace(min(batch_size, len(X)))
                try:
                    return network.sums(X[rows], base[rows], chunk, work)
                finally:
                    workspaces.put(work)

            def evaluate(active, first, last):
                # work items: a batch of inputs x PASS_CHUNK passes, each summed on its own
                # and added in pass order (so that few inputs still fill every thread)
                chunks = [all_passes[c:min(c + PASS_CHUNK, last)]
                          for c in range(first, last, PASS_CHUNK)]
                items = ((s, chunk) for s in range(0, len(active), batch_size)
                         for chunk in chunks)
                sums = in_order(pool, lambda item: batch(active[item[0]:item[0] + batch_size],
                                                         item[1]), items, 4 * n_threads)
                for _ in range(0, len(active), batch_size):
                    p, entropy = next(sums)
                    for _ in chunks[1:]:
                        more_p, more_entropy = next(sums)
                        p += more_p
                        entropy += more_entropy
                    yield p, entropy

            return self._predict(len(X), n_samples, tolerance, evaluate)

    @contextmanager
    def _pool(self, n_threads):
        """Threads that each evaluate whole work items (a batch of inputs x ``PASS_CHUNK``
        passes) with one BLAS thread: an item's result is the same whichever thread and
        however many run (BLAS's blocking depends on its thread count), and the network's
        serial numba kernels run in parallel too (they release the GIL). Measured 15-18 %
        faster than one thread driving two BLAS threads on 2 cores (docs/DECISIONS.md)."""
        with _blas().limit(limits=1, user_api="blas"), ThreadPoolExecutor(n_threads) as pool:
            yield pool

    def _predict(self, n_inputs, n_samples, tolerance, evaluate, xp=np):
        """The adaptive loop over blocks of passes; ``evaluate(active, first, last)`` yields
        the sums of passes first..last-1 for the inputs ``active``, in order, by batch. With
        ``xp`` CuPy the loop's arrays stay on the card (the result comes back as numpy)."""
        block = n_samples if tolerance is None else ADAPTIVE_BLOCK
        sum_p = xp.zeros((n_inputs, self.widths[-1]))
        sum_entropy = xp.zeros(n_inputs)
        passes = xp.zeros(n_inputs, dtype=np.int64)
        active = xp.arange(n_inputs)
        previous = None
        for first in range(0, n_samples, block):
            last = min(first + block, n_samples)
            done = 0
            for p, entropy in evaluate(active, first, last):
                rows = active[done:done + len(p)]
                sum_p[rows] += p
                sum_entropy[rows] += entropy
                done += len(p)
            passes[active] += last - first
            mean = sum_p[active] / passes[active, None]
            mutual_information = (_entropy_bits(mean, xp=xp)
                                  - sum_entropy[active] / passes[active])
            if previous is not None:
                old_mean, old_mi = previous
                converged = ((mean.argmax(axis=1) == old_mean.argmax(axis=1))
                             & (xp.abs(mean - old_mean).max(axis=1) < tolerance)
                             & (xp.abs(mutual_information - old_mi) < tolerance))
                active, mean, mutual_information = (
                    active[~converged], mean[~converged], mutual_information[~converged])
            if tolerance is None or not len(active):
                break
            previous = mean, mutual_information
        mean = sum_p / passes[:, None]
        entropy = _entropy_bits(mean, xp=xp)
        mutual_information = xp.maximum(entropy - sum_entropy / passes, 0.0)
        if xp is not np:
            mean, entropy, mutual_information, passes = (
                a.get() for a in (mean, entropy, mutual_information, passes))
        return Prediction(mean, entropy, mutual_information, n_samples, passes)

    def representations(self, descriptors, *, layer=DEFAULT_LAYER, batch_size=1024):
        """Hidden-layer activations before ReLU, with dropout off (the mean network).

        Parameters
        ----------
        descriptors : array_like of shape (N, 316)
        layer : int, default=3
            Hidden layer 1, 2 or 3 (widths 256, 512, 256).

        Returns
        -------
        ndarray of shape (N, width), float32
        """
        X = self._check_inputs(descriptors)
        layer = check_scalar(layer, "layer", kind=numbers.Integral, low=1, low_inclusive=True,
                             high=len(self.widths) - 2)
        with self._pool(self.n_threads or numba.get_num_threads()) as pool:
            out = list(pool.map(lambda s: self._network.pre_activation(X[s:s + batch_size], layer),
                                range(0, len(X), batch_size)))
        return np.concatenate(out) if out else np.empty((0, self.widths[layer]), np.float32)

