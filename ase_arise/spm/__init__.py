"""Stage 5 of the pipeline, strided pattern matching (SPM): ARISE maps of polycrystals,
interfaces and nanoparticles.

A cubic box of edge ``box`` (Å) is moved with step ``stride`` (Å) over the sample, and the atoms
inside each box are classified (paper: "Polycrystal classification", Methods "Strided pattern
matching parameters"). Along periodic axes the boxes wrap across the boundary (the atoms'
periodic images fill them); along open axes they cover the atoms' bounding box. An axis is
scanned when it is periodic or at least one box long, so a slab gets a 2D scan, a rod a 1D
scan, a bulk sample a 3D scan; ``axes`` forces a choice.

Two modes give each box its descriptor, and ``"auto"`` (the default) picks one per sample:

``"exact"``
    The paper's: the box's atoms are cut out as a non-periodic cluster and described on their
    own, scaled by the cluster's own d_NN of each species pair.
``"fast"``
    Per-atom expansion coefficients are computed once (neighbours from the whole sample, so no
    artificial surface) and a box's averaged coefficients are the sums of its atoms' rows; one
    power spectrum per box follows. Each atom's neighbourhood is scaled by a *local* d_NN: the
    median, over the atom and its 15 nearest atoms of the same species, of their distances to
    the nearest atom of the neighbour species (docs/DECISIONS.md: grains of one sample differ in
    d_NN by far more than the +-5 % the network was trained on).
``"auto"``
    Fast for samples periodic along all three axes (MD snapshots: the size that needs speed, and
    every atom has a bulk-like environment, as in the periodic training cells); exact as soon
    as one axis is open (slabs, clusters, nanoparticles: fast boxes there mix free-surface
    environments into shapes no training structure has; docs/DECISIONS.md).

Boxes are processed in slabs of the scan, so memory grows with the slab, not with the sample.

Modules: :mod:`.grid` (where the boxes sit) → :mod:`.boxes` (their descriptors, fast or exact;
numba box sums in ``_kernels``) → :mod:`.driver` (slabs, the network, progress) →
:mod:`.result` (:class:`SPMResult`, maps and plots).
"""

from .driver import (box_centres, iter_match_boxes, iter_spm, match_boxes, run_steps,
                     scan_sample, spm)
from .grid import box_grid
from .result import SPMResult

__all__ = ["SPMResult", "box_centres", "box_grid", "iter_match_boxes", "iter_spm",
           "match_boxes", "run_steps", "scan_sample", "spm"]

