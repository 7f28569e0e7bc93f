"""arise: robust crystal-structure recognition with Bayesian deep learning (ARISE), for ASE.

Leitherer, Ziletti & Ghiringhelli, "Robust recognition and exploratory analysis of crystal
structures via Bayesian deep learning", Nature Communications 12, 6234 (2021),
doi:10.1038/s41467-021-26511-5. The package follows the pipeline:

1. :mod:`ase_arise.prototypes` — the 108 classes, in the network's output order;
2. :mod:`ase_arise.descriptor` — d_NN, the SOAP basis and kernels, the averaged descriptor;
3. :mod:`ase_arise.model` — the shipped Bayesian network (ONNX, Monte-Carlo dropout);
4. :mod:`ase_arise.classify` — one answer per structure;
5. :mod:`ase_arise.spm` — strided pattern matching: the scan grid, box descriptors, driver,
   result;
6. :mod:`ase_arise.labels` — per-atom answers from the boxes;
7. adapters: :mod:`ase_arise.calculator` (``ARISE``), :mod:`ase_arise.cli` (``arise``),
   :mod:`ase_arise.io` (files in and out).

:class:`Settings` carries the parameters of stages 5-7, validated once. Beside the pipeline:
:mod:`ase_arise.analysis` (clusters and maps of the network's hidden representations),
:mod:`ase_arise.defects` and :mod:`ase_arise.build` (defective copies and test samples),
:mod:`ase_arise.training` (training and fine-tuning; never imported by the runtime) and
:mod:`ase_arise.benchmarks`. Nothing here imports OVITO; the OVITO adapter is ``ovito_arise``.

>>> from ase.build import bulk
>>> from ase_arise import classify
>>> classify(bulk("Cu", "fcc", a=3.6)).name
'fcc'

"""

from . import _environment  # noqa: F401  (checks the environment before numba is imported)
from .analysis import (
    Clustering,
    Embedding,
    atom_clusters,
    box_representations,
    cluster,
    cosine_similarity,
    embed,
    similarity_matrix,
)
from .calculator import ARISE
from .classify import Classification, classify, representations
from .defects import defective_copy, displace_atoms, remove_atoms
from .descriptor import (
    ARISEDescriptor,
    AtomicCoefficients,
    descriptor,
    nearest_neighbor_distance,
    nearest_neighbor_distances,
)
from .errors import (
    AriseError,
    InputError,
    InputTypeError,
    IsolatedAtomsWarning,
    ModelError,
    OverlappingAtomsWarning,
)
from .labels import AtomLabels, label
from .limits import WorkLimits, work_limits
from .model import ARISEModel, Prediction, load_model
from .prototypes import N_CLASSES, Prototype, class_names, get_prototype, load_prototypes
from .settings import Settings
from .spm import SPMResult, spm

__version__ = "0.2.0"

__all__ = [
    "ARISE",
    "ARISEDescriptor",
    "AtomLabels",
    "SPMResult",
    "Settings",
    "label",
    "spm",
    "Clustering",
    "Embedding",
    "atom_clusters",
    "box_representations",
    "cluster",
    "cosine_similarity",
    "embed",
    "similarity_matrix",
    "ARISEModel",
    "Classification",
    "Prediction",
    "classify",
    "defective_copy",
    "displace_atoms",
    "load_model",
    "remove_atoms",
    "representations",
    "AriseError",
    "AtomicCoefficients",
    "InputError",
    "InputTypeError",
    "OverlappingAtomsWarning",
    "WorkLimits",
    "work_limits",
    "IsolatedAtomsWarning",
    "ModelError",
    "N_CLASSES",
    "Prototype",
    "class_names",
    "descriptor",
    "get_prototype",
    "load_prototypes",
    "nearest_neighbor_distance",
    "nearest_neighbor_distances",
]
