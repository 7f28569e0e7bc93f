"""arise: robust crystal-structure recognition with Bayesian deep learning (ARISE), for ASE.

The core package: the 108-class prototype library (:mod:`ase_arise.prototypes`), the ARISE
descriptor (:mod:`ase_arise.descriptor`, an averaged SOAP of the d_NN-scaled species-pair
substructures that reproduces QUIP's descriptor as used by Leitherer, Ziletti and Ghiringhelli,
npj Comput. Mater. 7, 2021), the shipped Bayesian network (:mod:`ase_arise.model`) and
:func:`classify`, strided pattern matching (:func:`spm`), per-atom labels (:func:`label`), the
calculator-style :class:`ARISE`, and the unsupervised analysis of the network's hidden
representations (:mod:`ase_arise.analysis`: clusters, 2D maps, similarity). Nothing here
imports OVITO; the OVITO adapter is ``ovito_arise``.

>>> from ase.build import bulk
>>> from ase_arise import classify
>>> classify(bulk("Cu", "fcc", a=3.6)).name
'fcc'

"""

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
from .errors import AriseError, InputError, IsolatedAtomsWarning, ModelError
from .labels import AtomLabels, label
from .model import ARISEModel, Prediction
from .prototypes import N_CLASSES, Prototype, class_names, get_prototype, load_prototypes
from .spm import SPMResult, spm

__version__ = "0.1.0"

__all__ = [
    "ARISE",
    "ARISEDescriptor",
    "AtomLabels",
    "SPMResult",
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
    "remove_atoms",
    "representations",
    "AriseError",
    "AtomicCoefficients",
    "InputError",
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
