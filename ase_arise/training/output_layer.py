"""The output layer of a fine-tuned model: fitted on the base model's frozen hidden layers.

With the hidden layers fixed, the softmax cross-entropy is convex in the output weights: the fit
(L-BFGS on the last hidden layer's activations, class-balanced, with an L2 penalty ``alpha``)
has one minimum and is deterministic (:func:`fit_output_layer`).
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

# L2 penalty of the fit (docs/DECISIONS.md: why 1e-4).
DEFAULT_ALPHA = 1e-4


@dataclass(frozen=True)
class OutputFit:
    """A fitted output layer.

    Attributes
    ----------
    weights : ndarray of shape (n_hidden, n_classes), float64
    biases : ndarray of shape (n_classes,), float64
    record : dict
        The optimiser's iterations, convergence, final loss and largest gradient component,
        and the number of descriptors fitted.
    """

    weights: np.ndarray
    biases: np.ndarray
    record: dict


def confused_classes(features, labels, weights, biases, *, per_class=5):
    """The base classes the base output layer gives the new classes' structures most probability.

    Parameters
    ----------
    features : ndarray of shape (N, n_hidden)
        Last hidden layer of the new classes' training descriptors.
    labels : ndarray of shape (N,), int
        Their new class ids.
    weights, biases : ndarray of shape (n_hidden, n_base), (n_base,)
        The base model's output layer.
    per_class : int, default=5
        Base classes taken per new class (highest mean probability; 0: none).

    Returns
    -------
    list of int
        Base class ids, sorted.
    """
    probabilities = softmax(features @ weights + biases, axis=1)
    chosen = set()
    for label in np.unique(labels):
        mean = probabilities[labels == label].mean(axis=0)
        chosen.update(int(c) for c in np.argsort(-mean, kind="stable")[:per_class])
    return sorted(chosen)


def fit_output_layer(features, labels, weights, biases, *, n_fixed=0, alpha=DEFAULT_ALPHA):
    """Fit the output layer's rows ``n_fixed:`` on fixed hidden features (convex problem).

    Minimises the class-balanced mean softmax cross-entropy over all classes plus
    ``alpha / 2 * |W_free|^2`` with L-BFGS, starting from the given rows; rows ``:n_fixed`` stay
    exactly as given.

    Parameters
    ----------
    features : ndarray of shape (N, n_hidden)
        Last hidden layer's activations (after ReLU).
    labels : ndarray of shape (N,), int
        Class ids, 0 <= label < n_classes.
    weights : ndarray of shape (n_hidden, n_classes)
    biases : ndarray of shape (n_classes,)
    n_fixed : int, default=0
    alpha : float, default=1e-4

    Returns
    -------
    OutputFit
    """
    H = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    n_hidden, n_classes = np.shape(weights)
    n_free = n_classes - n_fixed
    counts = np.bincount(y, minlength=n_classes)
    sample_weight = 1.0 / (np.count_nonzero(counts) * counts[y])
    fixed_logits = H @ weights[:, :n_fixed] + biases[:n_fixed]
    target = np.zeros((len(y), n_free))
    free = y >= n_fixed
    target[np.flatnonzero(free), y[free] - n_fixed] = 1.0

    def loss_and_gradient(theta):
        W = theta[:-n_free].reshape(n_hidden, n_free)
        logits = np.concatenate([fixed_logits, H @ W + theta[-n_free:]], axis=1)
        log_p = logits - logsumexp(logits, axis=1, keepdims=True)
        loss = -(sample_weight * log_p[np.arange(len(y)), y]).sum() + 0.5 * alpha * (W ** 2).sum()
        residual = (np.exp(log_p[:, n_fixed:]) - target) * sample_weight[:, None]
        return loss, np.concatenate([(H.T @ residual + alpha * W).ravel(), residual.sum(axis=0)])

    start = np.concatenate([np.asarray(weights, dtype=np.float64)[:, n_fixed:].ravel(),
                            np.asarray(biases, dtype=np.float64)[n_fixed:]])
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B",
                      options={"maxiter": 2000})
    if not result.success:
        warnings.warn(f"The output-layer fit stopped before converging ({result.message}); "
                      "try a larger alpha.", RuntimeWarning, stacklevel=2)
    fitted_w = np.array(weights, dtype=np.float64)
    fitted_b = np.array(biases, dtype=np.float64)
    fitted_w[:, n_fixed:] = result.x[:-n_free].reshape(n_hidden, n_free)
    fitted_b[n_fixed:] = result.x[-n_free:]
    record = {"iterations": int(result.nit), "converged": bool(result.success),
              "loss": float(result.fun), "gradient_max": float(np.abs(result.jac).max()),
              "n_descriptors": len(y)}
    return OutputFit(fitted_w, fitted_b, record)


def base_layers(model):
    """The dense layers of a model's ONNX graph.

    Returns
    -------
    weights : list of ndarray of shape (in, out), float64
    biases : list of ndarray of shape (out,), float64
    """
    import onnx  # optional: the 'train' extra
    from onnx import numpy_helper

    graph = onnx.load(str(model.path)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    layers = range(len(model.widths) - 1)
    return ([tensors[f"W_{k}"].astype(np.float64) for k in layers],
            [tensors[f"b_{k}"].astype(np.float64) for k in layers])


def last_hidden(model, descriptors):
    """Activations of the last hidden layer (after ReLU, dropout off): the output layer's
    input. ndarray of shape (N, width), float64."""
    return np.maximum(model.representations(descriptors, layer=len(model.widths) - 2),
                      0.0).astype(np.float64)
