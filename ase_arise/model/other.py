"""The "Other" decision: a structure, box or atom without the angular order of any crystal.

The score is the **anisotropy** of the averaged SOAP power spectrum: the share of its power
(the diagonal entries p(n, n, l), summed over n) in the angular channels l >= 1, in [0, 1].
The ARISE descriptor sums the expansion coefficients of all centres *before* the power
spectrum, so every crystal, however disordered, keeps the angular order its centres share
(defect protocol, all 108 prototypes, up to 10 % displacement and 30 % missing atoms: >= 0.14),
while the environments of a liquid, a glass or a gas point every way and their l >= 1 sums
cancel (EMT liquids and glasses: ~0.002-0.02, shrinking as 1 / atoms). A structure is "Other"
when its anisotropy lies below the model's ``min_anisotropy``, calibrated on liquids and glasses
(:mod:`ase_arise.training.calibrate`) and stored in the model's record. docs/DECISIONS.md
compares it with the MC-dropout uncertainty and with distances in descriptor and hidden space.

Within one scan the anisotropy also tells a box inside a grain from one that straddles a
boundary (differently oriented grains cancel part of each other's order): :func:`disorder`.

Class ids: ``OTHER`` (-2) marks Other, ``NO_PREDICTION`` (-1) no prediction at all.
"""

import numpy as np

from .._validation import check_scalar
from ..device import array_module

OTHER = -2
NO_PREDICTION = -1
OTHER_NAME = "Other"
NO_PREDICTION_NAME = "no prediction"
# disorder(): the reference order of a prototype is this percentile of its boxes' anisotropy
ORDER_PERCENTILE = 75


def check_min_anisotropy(value):
    """``value`` as a float threshold in [0, 1]; raises naming ``min_anisotropy``."""
    return check_scalar(value, "min_anisotropy", low=0.0, low_inclusive=True, high=1.0,
                        unit=" (share of the power in l >= 1)")


def anisotropy(descriptors, n_max, l_max):
    """Share of the power spectrum's power in the angular channels l >= 1.

    Parameters
    ----------
    descriptors : ndarray of shape (..., n_features)
        ARISE descriptors (the power-spectrum layout of
        :func:`ase_arise.descriptor.soap.SOAPBasis.power_spectrum`); NaN rows stay NaN. On a
        card (CuPy), the score is computed there and stays there.
    n_max, l_max : int
        Their basis size.

    Returns
    -------
    ndarray of shape (...), float64
        In [0, 1]; NaN for NaN or all-zero rows.
    """
    xp = array_module(descriptors)
    X = xp.asarray(descriptors, dtype=np.float64)
    n_l = l_max + 1
    diagonal = [n_l * (n * (n + 1) // 2 + n) for n in range(n_max)]
    power = xp.stack([X[..., [d + l for d in diagonal]].sum(axis=-1) for l in range(n_l)],
                     axis=-1)
    total = power.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(total > 0, 1.0 - power[..., 0] / total, np.nan)


def disorder(class_id, score):
    """How much less angular order each box has than the best-ordered boxes of its class.

    ``log2(reference / score)``, at least 0, in bits (each bit halves the order), where the
    reference of a class is the ``ORDER_PERCENTILE`` percentile of ``score`` over the boxes of
    that class in the same scan: ~0 inside grains, ~0.5-1 where two grains share a box, and
    independent of how much order a class has (bcc less than diamond) or thermal noise leaves.

    Parameters
    ----------
    class_id : ndarray of shape (n_boxes,), int
        Most probable prototype per box (-1: no prediction).
    score : ndarray of shape (n_boxes,), float64
        Anisotropy per box.

    Returns
    -------
    ndarray of shape (n_boxes,), float64
        Bits; NaN without a prediction.
    """
    out = np.full(len(class_id), np.nan)
    for c in np.unique(class_id[class_id >= 0]):
        mine = class_id == c
        reference = np.percentile(score[mine], ORDER_PERCENTILE)
        with np.errstate(divide="ignore"):
            out[mine] = np.maximum(np.log2(reference / score[mine]), 0.0)
    return out


def decide(class_id, score, min_anisotropy):
    """``class_id`` (int array, -1: no prediction) with ``OTHER`` where ``score`` lies below
    ``min_anisotropy``."""
    class_id = np.asarray(class_id)
    with np.errstate(invalid="ignore"):
        other = (class_id >= 0) & (np.asarray(score) < min_anisotropy)
    return np.where(other, OTHER, class_id)


def calibrate(amorphous, crystalline, *, quantile=0.005):
    """The threshold between anisotropies of amorphous and crystalline calibration samples.

    The geometric mean of the amorphous samples' (1 - ``quantile``) quantile and the
    crystalline samples' ``quantile`` quantile: the middle of the gap on the log scale on
    which the amorphous scores shrink (as 1 / atoms). Returns (threshold, record) with the
    quantiles in the record.
    """
    amorphous = np.asarray(amorphous, dtype=np.float64)
    crystalline = np.asarray(crystalline, dtype=np.float64)
    high = float(np.quantile(amorphous, 1 - quantile))
    low = float(np.quantile(crystalline, quantile))
    threshold = float(np.sqrt(high * low)) if high < low else low
    return threshold, {"amorphous_quantile": high, "crystalline_quantile": low,
                       "quantile": quantile, "n_amorphous": int(amorphous.size),
                       "n_crystalline": int(crystalline.size)}


def recalibrate(record, scores, *, quantile=0.005):
    """A model's "other" ``record`` after classes with descriptor anisotropies ``scores`` were
    added (fine-tuning): the crystalline quantile becomes the lower of the old one and the new
    classes' own, and the threshold follows :func:`calibrate`'s rule, so that the new classes'
    structures are not Other. None stays None (a model without a threshold)."""
    if not record:
        return record
    calibration = dict(record.get("calibration", {}))
    new_low = float(np.nanquantile(np.asarray(scores, dtype=np.float64), quantile))
    low = min(calibration.get("crystalline_quantile", new_low), new_low)
    high = calibration.get("amorphous_quantile", 0.0)
    threshold = min(record["min_anisotropy"],
                    float(np.sqrt(high * low)) if 0 < high < low else low)
    calibration.update(crystalline_quantile=low, added_classes_quantile=new_low)
    return {**record, "min_anisotropy": threshold, "calibration": calibration}
