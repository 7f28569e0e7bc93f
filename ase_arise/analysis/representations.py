"""Hidden-layer representations of SPM boxes: what the network has learned about each box."""

import numbers

import numpy as np

from .._validation import check_bool, check_scalar
from ..errors import InputError
from ..model import DEFAULT_LAYER, resolve_model


def activated(representations, activation):
    """Apply the hidden layers' ReLU to pre-activation ``representations`` when asked.

    Parameters
    ----------
    representations : ndarray of shape (n, width)
        Pre-activation values (NaN rows stay NaN).
    activation : bool
        False: return them as they are; True: ``max(x, 0)``.
    """
    check_bool(activation, "activation")
    return np.maximum(representations, 0) if activation else representations


def box_representations(result, *, layer=DEFAULT_LAYER, activation=False, model=None):
    """The network's hidden-layer representations of the boxes of an SPM scan.

    The network runs once per box with dropout off (the mean network), on the descriptors
    that ``spm(..., keep_descriptors=True)`` kept (paper Fig. 2d-g, Supp. Fig. 6).

    Parameters
    ----------
    result : SPMResult
        From :func:`ase_arise.spm` with ``keep_descriptors=True``.
    layer : int, default=3
        Hidden layer 1, 2 or 3 (256, 512, 256 units).
    activation : bool, default=False
        False: values before the ReLU, as in the paper's Supp. Fig. 6; True: after it.
    model : None, path or ARISEModel
        The network that made ``result`` (None: the shipped model).

    Returns
    -------
    ndarray of shape (n_boxes, width), float32
        NaN rows for boxes without a prediction.

    Raises
    ------
    InputError
        ``result`` holds no descriptors, or they do not fit the model.
    """
    descriptors = getattr(result, "descriptors", None)
    if descriptors is None:
        raise InputError("The SPM result holds no box descriptors: run "
                         "spm(atoms, ..., keep_descriptors=True) to keep them.")
    check_bool(activation, "activation")
    net = resolve_model(model)
    if descriptors.shape[1] != net.widths[0]:
        raise InputError(f"The SPM result's descriptors have {descriptors.shape[1]} features but "
                         f"the model takes {net.widths[0]}: pass the model that made the scan.")
    layer = check_scalar(layer, "layer", kind=numbers.Integral, low=1, low_inclusive=True,
                         high=len(net.widths) - 2)
    valid = np.isfinite(descriptors).all(axis=1)
    out = np.full((len(descriptors), net.widths[layer]), np.nan, dtype=np.float32)
    if valid.any():
        out[valid] = activated(net.representations(descriptors[valid], layer=layer), activation)
    return out
