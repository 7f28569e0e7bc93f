"""Regenerate tests/data/label_golden.npz: per-atom `label` results on two small samples.

The golden file pins the per-atom answers bit for bit for a fixed seed: a change that alters
them on purpose regenerates it in a commit that says so
(``python tests/data/make_label_golden.py``).

Samples: a periodic 32 Å fcc/bcc/hcp/diamond Voronoi polycrystal (``polycrystal(32.0,
random_state=0)``, fast mode) and its first 24 Å along x cut out as an open slab (exact
mode); box 12 Å, stride 4 Å, seed 0, with all probabilities.
"""

from pathlib import Path

import numpy as np

from ase_arise import label
from ase_arise.build import polycrystal

GOLDEN = Path(__file__).with_name("label_golden.npz")
SETTINGS = dict(box=12.0, stride=4.0, random_state=0, probabilities=True)


def samples():
    """The two golden samples: (name, Atoms)."""
    periodic = polycrystal(32.0, random_state=0)
    slab = periodic[periodic.positions[:, 0] < 24.0]
    slab.pbc = (False, True, True)
    return [("periodic", periodic), ("slab", slab)]


def compute():
    """{name_field: array} for every sample."""
    out = {}
    for name, atoms in samples():
        result = label(atoms, **SETTINGS)
        out[f"{name}_class_id"] = result.class_id
        out[f"{name}_probability"] = result.probability
        out[f"{name}_mutual_information"] = result.mutual_information
        out[f"{name}_probabilities"] = result.probabilities
        out[f"{name}_anisotropy"] = result.anisotropy
        out[f"{name}_uncertainty"] = result.uncertainty
        out[f"{name}_mode"] = np.array(result.spm.mode)
    return out


if __name__ == "__main__":
    np.savez_compressed(GOLDEN, **compute())
    print(f"wrote {GOLDEN}")
