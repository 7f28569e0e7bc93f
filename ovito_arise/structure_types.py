"""Named, coloured structure types of ARISE's prototypes for OVITO's typed properties.

Prototypes that PTM also identifies take the colour OVITO gives them (fcc green, hcp red, bcc
blue, cubic diamond, ...), so that ARISE and PTM pictures of one sample read the same; every
other prototype gets its own colour, spread over the hue circle by the golden ratio and over
three lightness levels, away from the colours already taken.
"""

import colorsys
import functools

import numpy as np
from ovito.data import ElementType
from ovito.modifiers import PolyhedralTemplateMatchingModifier

# Type id 0 of "ARISE Structure Type": particles that no box with a prediction covers (or that
# are not selected when only selected particles are classified); dark grey.
NO_PREDICTION = "No prediction"
NO_PREDICTION_COLOR = (0.35, 0.35, 0.35)
# The last type id (number of classes + 1): particles whose box is "Other" (no crystal's
# angular order: liquid, glass, gas), white as PTM's "Other".
OTHER = "Other"
# PTM structure type (OVITO's name) -> ARISE prototype name; "Other" and ICO have none.
PTM_PROTOTYPES = {
    "FCC": "fcc",
    "HCP": "hcp",
    "BCC": "bcc",
    "Simple cubic": "sc (α-Po)",
    "Cubic diamond": "diamond",
    "Hexagonal diamond": "hexagonal diamond",
    "Graphene": "graphene",
}
_GOLDEN = (5 ** 0.5 - 1) / 2
# Candidates closer than this (RGB, Euclidean) to a colour in use are skipped.
_MIN_DISTANCE = 0.12


@functools.lru_cache(maxsize=1)
def _ptm_colors():
    """OVITO's colours of PTM's structure types, keyed by ARISE prototype name (plus "Other")."""
    colors = {}
    for structure in PolyhedralTemplateMatchingModifier().structures:
        name = "Other" if structure.id == 0 else PTM_PROTOTYPES.get(structure.name)
        if name is not None:
            colors[name] = tuple(float(c) for c in structure.color)
    return colors


def type_colors(class_names):
    """RGB colours (0-1) of "No prediction", each class in the model's order, and "Other".

    Parameters
    ----------
    class_names : sequence of str
        The model's class names.

    Returns
    -------
    list of tuple of float
        ``len(class_names) + 2`` distinct colours; index k + 1 is class k's.
    """
    ptm = _ptm_colors()
    colors = [NO_PREDICTION_COLOR] + [ptm.get(name) for name in class_names] + [ptm["Other"]]
    taken = [np.array(c) for c in colors if c is not None]
    step = 0
    for k, color in enumerate(colors):
        if color is not None:
            continue
        while True:
            hue = (step * _GOLDEN) % 1.0
            value = (0.95, 0.75, 0.55)[step % 3]
            saturation = (0.55, 0.85)[(step // 3) % 2]
            step += 1
            candidate = np.array(colorsys.hsv_to_rgb(hue, saturation, value))
            if min(np.linalg.norm(candidate - t) for t in taken) >= _MIN_DISTANCE:
                break
        colors[k] = tuple(float(c) for c in candidate)
        taken.append(candidate)
    return colors


def structure_types(class_names):
    """OVITO element types for "ARISE Structure Type": id 0 "No prediction", id k + 1 class k,
    id ``len(class_names) + 1`` "Other".

    Returns
    -------
    list of ovito.data.ElementType
    """
    names = [NO_PREDICTION] + list(class_names) + [OTHER]
    return [ElementType(id=k, name=name, color=color)
            for k, (name, color) in enumerate(zip(names, type_colors(class_names)))]
