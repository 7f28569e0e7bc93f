"""Stage 4 of the pipeline: classify whole structures, ``classify(atoms)`` -> the most similar of
the 108 prototypes.

One descriptor per structure (:mod:`ase_arise.descriptor`), then the Bayesian network with
Monte-Carlo dropout (:mod:`ase_arise.model`): mean probabilities over T passes, the top-k
prototypes, predictive entropy and mutual information in bits (log base 2).
"""

import numbers
import os
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from ._random import validate_random_state
from ._validation import check_atoms, check_bool, check_scalar
from .distributed import check_client, classify_on, model_reference, shared_seed
from .errors import InputError
from .io import open_trajectory, read_structures
from .model import DEFAULT_LAYER, resolve_model
from .model.other import OTHER, OTHER_NAME, check_min_anisotropy
from .model.record import check_passes

# A structure in which fewer of the centres have their nearest neighbour near d_NN has no
# neighbour shell (an ideal gas: ~0.01; crystals of the defect protocol >= 0.5, averaged over
# species pairs): it is Other whatever its anisotropy (docs/DECISIONS.md).
MIN_SHELL_SHARE = 0.5
# Isolated clusters need this many atoms (the smallest neighbour shell of the prototypes, a
# nanotube's or a 2D sheet's, has 3 atoms around a centre).
MIN_CLUSTER_ATOMS = 4


@dataclass(frozen=True)
class Classification:
    """The result of classifying one structure.

    Attributes
    ----------
    class_id : int
        Predicted class (argmax of the mean probabilities), in the output order of the model;
        -2 when the structure is "Other".
    name : str
        Its readable name ("fcc", "MoS2", "CNT (6,0)", ...), or "Other": the structure has
        no crystal's angular order (a liquid, a glass, a gas; :mod:`ase_arise.model.other`).
    key : str
        Its key (prototype folder name of the paper's data), or "Other".
    prototype_id, prototype : int, str
        The most probable prototype and its name, also for an Other structure.
    other : bool
        Whether the structure is Other: ``anisotropy < min_anisotropy``, or fewer than half of
        its atoms have their nearest neighbour near d_NN (no neighbour shell, a gas).
    anisotropy : float
        The Other score: share of the averaged SOAP power in l >= 1.
    probability : float
        Mean probability of the most probable prototype.
    probabilities : ndarray of shape (n_classes,), float64
        Mean probabilities of all classes over the MC-dropout passes.
    top_k : tuple of (str, float)
        The k most probable prototypes (also for Other) with their probabilities, best first.
    mutual_information : float
        Epistemic uncertainty, bits (0 = certain; at most log2 n_classes, 6.75 for 108).
    entropy : float
        Predictive entropy of the mean probabilities, bits.
    n_samples : int
        MC-dropout passes.
    n_atoms : int
        Atoms in the structure.
    """

    class_id: int
    name: str
    key: str
    prototype_id: int
    prototype: str
    other: bool
    anisotropy: float
    probability: float
    probabilities: np.ndarray
    top_k: tuple
    mutual_information: float
    entropy: float
    n_samples: int
    n_atoms: int

    def __repr__(self):
        ranked = ", ".join(f"{name} {p:.3f}" for name, p in self.top_k)
        other = f", anisotropy {self.anisotropy:.3g}" if self.other else ""
        return (f"Classification({self.name!r}, p={self.probability:.3f}, "
                f"MI={self.mutual_information:.3f} bit{other}; top: {ranked})")


def classify(atoms, *, model=None, n_samples=None, top_k=3, min_anisotropy=None, random_state=0,
             progress=False, batch_size=256, device="cpu", client=None):
    """Classify one structure, or many.

    Parameters
    ----------
    atoms : ase.Atoms, iterable of ase.Atoms, or path
        One structure, a list, an ASE database file (.db) or a trajectory/structure file (every
        frame; with a ``client`` the workers read their own structures of it). Periodicity
        per axis from ``atoms.pbc``; positions in Å (any lattice constant: structures are
        scaled by their own nearest-neighbour distance).
    model : None, path or ARISEModel
        The network; None: the shipped 108-class model.
    n_samples : int, optional
        MC-dropout passes T; default: the model's (chosen so that top-1 and mutual information
        match T = 1000, docs/BENCHMARKS.md).
    top_k : int, default=3
        Number of ranked classes in ``Classification.top_k``.
    min_anisotropy : float, optional
        A structure whose anisotropy (:mod:`ase_arise.model.other`) lies below this is
        "Other"; default: the model's calibrated threshold; 0: never Other.
    random_state : None, int or numpy.random.Generator, default=0
        Seeds the dropout masks: the same seed gives identical results for the same input, in
        any batch size or thread count. None: fresh randomness each call.
    progress : bool, default=False
        tqdm progress bar over many structures.
    batch_size : int, default=256
        Structures per network call.
    device : {"cpu", "cuda", "cuda:N"}, default="cpu"
        Where the descriptors' coefficients and the network's passes run
        (:mod:`ase_arise.device`).
    client : dask.distributed.Client, optional
        Classify on its workers, :data:`~ase_arise.distributed.CLASSIFY_BATCH` structures a
        task (:mod:`ase_arise.distributed`): the same results as here, for a fixed seed.

    Returns
    -------
    Classification, or list of Classification for several structures (list, file, database).
    """
    net = resolve_model(model)
    check_bool(progress, "progress")
    top_k = check_scalar(top_k, "top_k", kind=numbers.Integral, low=1, low_inclusive=True,
                         high=len(net.classes))
    validate_random_state(random_state)
    if n_samples is not None:
        check_passes(n_samples)
    check_scalar(batch_size, "batch_size", kind=numbers.Integral, low=1, low_inclusive=True)
    threshold = (net.min_anisotropy if min_anisotropy is None
                 else check_min_anisotropy(min_anisotropy))
    single = isinstance(atoms, Atoms)
    # with a client, a file's structures are read by the workers (ase_arise.io.open_trajectory)
    lazy = client is not None and isinstance(atoms, (str, os.PathLike))
    structures = open_trajectory(atoms) if lazy else read_structures(atoms)
    if not len(structures):
        return []
    if client is not None:
        options = dict(model=model_reference(net), n_samples=n_samples, top_k=top_k,
                       min_anisotropy=min_anisotropy, random_state=shared_seed(random_state),
                       batch_size=batch_size, device=device)
        results = classify_on(check_client(client), structures, options, progress=progress)
        return results[0] if single else results
    X, shells = _descriptors(net, structures, progress=progress and not single, shells=True,
                             device=device)
    prediction = net.predict(X, n_samples=n_samples, random_state=random_state,
                             batch_size=batch_size, device=device)
    score = net.anisotropy(X)
    other = (score < threshold) | (shells < MIN_SHELL_SHARE)
    ranked = np.argsort(prediction.probabilities, axis=1)[:, ::-1][:, :top_k]
    results = [_result(net, prediction, i, ranked[i], score[i], other[i], len(structures[i]))
               for i in range(len(structures))]
    return results[0] if single else results


def _result(net, prediction, i, order, score, other, n_atoms):
    """Structure i's Classification; ``order``: its top-k classes, best first."""
    p = prediction.probabilities[i]
    best = int(order[0])
    other = bool(other)
    return Classification(
        class_id=OTHER if other else best, name=OTHER_NAME if other else net.class_names[best],
        key=OTHER_NAME if other else net.classes[best], prototype_id=best,
        prototype=net.class_names[best], other=other, anisotropy=float(score),
        probability=float(p[best]), probabilities=p.copy(),
        top_k=tuple((net.class_names[j], float(p[j])) for j in order),
        mutual_information=float(prediction.mutual_information[i]),
        entropy=float(prediction.entropy[i]), n_samples=prediction.n_samples,
        n_atoms=int(n_atoms))


def representations(atoms, *, model=None, layer=DEFAULT_LAYER):
    """Hidden-layer activations (before ReLU, dropout off) of the network for structures.

    Parameters
    ----------
    atoms : ase.Atoms, iterable of ase.Atoms, or path
    model : None, path or ARISEModel
        The network; None: the shipped 108-class model.
    layer : int, default=3
        Hidden layer 1, 2 or 3 (256, 512, 256 units); the default is the same as that of
        :func:`ase_arise.analysis.box_representations`.

    Returns
    -------
    ndarray of shape (n_structures, width), float32
    """
    net = resolve_model(model)
    layer = check_scalar(layer, "layer", kind=numbers.Integral, low=1, low_inclusive=True,
                         high=len(net.widths) - 2)
    structures = read_structures(atoms)
    if not structures:
        return np.empty((0, net.widths[layer]), dtype=np.float32)
    return net.representations(_descriptors(net, structures), layer=layer)


def _descriptors(net, structures, *, progress=False, shells=False, device="cpu"):
    """The model's descriptors of ``structures`` (n, n_features), and with ``shells`` their
    shell shares (n,); refuses isolated clusters too small to hold one neighbour shell. The
    descriptor checks each structure (:func:`._validation.check_atoms`)."""
    for k, structure in enumerate(structures):
        if not np.any(structure.pbc) and len(structure) < MIN_CLUSTER_ATOMS:
            check_atoms(structure, name=f"structure {k}")  # an empty one: that error
            raise InputError(
                f"Structure {k} is an isolated cluster of {len(structure)} atom(s): fewer than "
                f"one neighbour shell ({MIN_CLUSTER_ATOMS} atoms), so it has no crystal "
                "structure to recognise. Give a larger cluster or a periodic cell.")
    X, share = net.descriptor(device).describe_many(structures, progress=progress,
                                              desc="ARISE classification")
    return (X, share) if shells else X
