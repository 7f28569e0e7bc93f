"""Fine-tune ARISE with your own prototypes: new classes on the trained hidden layers.

    python -m ase_arise.training.finetune A15.cif --name "A15 (Cr3Si)" --output my-model.onnx
    python -m ase_arise.training.finetune fcc.xyz bcc.xyz --name fcc bcc --output fb.onnx --replace

Each structure file (every frame of it) is one class; the hidden layers of the base model
(default: the shipped one) are kept and only the output layer is fitted, so no torch is needed.
With the hidden layers fixed, the softmax cross-entropy is convex in the output weights: the fit
(L-BFGS on the last hidden layer's activations, class-balanced, with an L2 penalty ``alpha``)
has one minimum and is deterministic.

Add mode (default): the base model's output rows stay as they are, bit for bit, and one row per
new class is fitted against the new classes' structures and the base classes' own: the 108
prototypes' periodic cells and non-periodic supercells at the central descriptor setting, and
defective copies (``NEIGHBOUR_LEVELS``) of the supercells of the five base classes the base
model confuses each new class with. The new rows thus learn to claim their structures without
taking the originals'. Replace mode (``--replace``): a fresh output layer for the user's classes
alone.

Training data of a user class, from each of its structures, as for the shipped model
(:mod:`ase_arise.training.dataset`): the periodic cell and three non-periodic isotropic
supercells (>= 100 atoms and the next two; a cluster as given) at the paper's 99 descriptor
settings, plus defective copies of three periodic and three non-periodic supercells at the
shipped model's 22 augmentation levels (``AUGMENT_LEVELS``, up to 12 % displacement and 35 %
missing atoms). Held-out defective copies (1 % displacement + 5 % missing, other seeds) give the
accuracy recorded in the new model's metadata. The model is an .onnx file plus its .json, which
:class:`ase_arise.ARISEModel`, :func:`ase_arise.classify` (``model=``) and OVITO's "ARISE
classification" modifier (``model``) load like the shipped one.
"""

import argparse
import numbers
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from ase import Atoms

from .._deprecation import renamed_parameters
from .._validation import check_atoms, check_bool, check_scalar
from ..descriptor import ARISEDescriptor
from ..errors import AriseError, InputError, InputTypeError, ModelError, one_line
from ..io import check_output_path, read_structures
from ..model import ARISEModel, resolve_model
from ..model.other import recalibrate
from . import dataset
from .output_layer import (
    DEFAULT_ALPHA,
    base_layers,
    confused_classes,
    fit_output_layer,
    last_hidden,
)

try:
    from .export import write_model
except ImportError as missing:  # onnx is an optional dependency of the package
    raise ImportError("Fine-tuning reads and writes ONNX graphs and needs the onnx package: "
                      "pip install onnx (or the package's 'train' extra).") from missing

CLASS_SET = "custom"
HOLDOUT_LEVEL = (0.01, 0.05)
HOLDOUT_REALISATIONS = 5
# Add mode: defective copies of the N_NEIGHBOURS base classes nearest to each new class
N_NEIGHBOURS = 5
NEIGHBOUR_LEVELS = ((0.01, 0.05), (0.04, 0.0), (0.0, 0.20), (0.04, 0.20))
# Random streams derived from random_state, one per set of defective copies
SEED_STREAMS = ("augment", "holdout", "neighbours", "neighbour_holdout")


@renamed_parameters(settings="descriptor_settings")
def add_classes(structures, names, output, *, model=None, replace=False, random_state=0,
                alpha=DEFAULT_ALPHA, descriptor_settings=None, realisations=2,
                n_neighbours=N_NEIGHBOURS,
                cache_dir=None, n_jobs=None, progress=True):
    """Add the user's prototypes as new classes (or replace the class set) and write a model.

    Parameters
    ----------
    structures : sequence
        One entry per new class: an ``ase.Atoms``, a list of them, or the path of a file ASE
        reads (every frame) or of an ASE database (.db). Periodicity from ``atoms.pbc``;
        positions in Å (any lattice constant). Not modified.
    names : sequence of str
        Class names, one per entry of ``structures``, unique and, in add mode, not among the
        base model's class names or keys.
    output : path-like
        The .onnx file to write; its metadata goes beside it (.json). Both are overwritten.
    model : None, path or ARISEModel
        Base model whose hidden layers are kept (None: the shipped one).
    replace : bool, default=False
        False: keep the base model's classes and output rows, add the new ones. True: the new
        classes are the whole class set (at least two).
    random_state : int, default=0
        Seeds the defective training copies (and, on another stream, the held-out ones).
    alpha : float, default=1e-4
        L2 penalty on the fitted output weights; the loss is the class-balanced mean
        cross-entropy (docs/DECISIONS.md: why 1e-4).
    descriptor_settings : sequence of (r_cut, sigma, extrinsic_scaling), optional
        Descriptor settings of the pristine training structures (r_cut and sigma in units of
        d_NN); default: the paper's 99 (``dataset.R_CUTS`` x ``SIGMAS`` x ``SCALINGS``).
    realisations : int, default=2
        Defective training copies per supercell and augmentation level (0: none).
    n_neighbours : int, default=5
        Add mode: defective copies (``NEIGHBOUR_LEVELS``) of this many base classes per new
        class, those the base model confuses it with most, join the training data (0: none).
    cache_dir : path-like, optional
        Cache the descriptor sets there (the base classes' set is shared by every fine-tune);
        None: no cache.
    n_jobs : int, optional
        Worker processes for the descriptors (default: all cores).
    progress : bool, default=True
        tqdm progress bars.

    Returns
    -------
    ARISEModel
        The new model, loaded (and so verified) from ``output``. ``metadata["metrics"]`` holds
        the accuracy per class on held-out defective copies of the new classes (and, in add
        mode, of the base classes nearest to them) and on the base classes' pristine
        structures.

    Raises
    ------
    InputError
        No classes, names not unique or already taken, an output that is no .onnx path or is
        the base model, a structure ARISE cannot describe.
    FileNotFoundError
        A structure file that does not exist.
    ModelError
        A base model whose descriptor is not this package's, or, in add mode, whose classes
        are not the 108 prototypes.

    Warns
    -----
    RuntimeWarning
        If, in add mode, a base class's pristine structure is no longer recognised (a new
        class is too close to it), or the optimiser did not converge.

    Examples
    --------
    >>> from ase_arise import classify
    >>> from ase_arise.benchmarks.finetune import cr3si
    >>> model = add_classes([cr3si()], ["A15 (Cr3Si)"], "arise-a15.onnx")  # doctest: +SKIP
    >>> classify(cr3si(), model=model).name  # doctest: +SKIP
    'A15 (Cr3Si)'
    """
    started = time.time()
    base = resolve_model(model)
    output = _check_output(output, base)
    replace = check_bool(replace, "replace")
    random_state = check_scalar(random_state, "random_state", kind=numbers.Integral, low=0,
                                low_inclusive=True)
    alpha = check_scalar(alpha, "alpha", low=0.0)
    realisations = check_scalar(realisations, "realisations", kind=numbers.Integral, low=0,
                                low_inclusive=True)
    n_neighbours = check_scalar(n_neighbours, "n_neighbours", kind=numbers.Integral, low=0,
                                low_inclusive=True)
    names = _check_names(names, base, replace)
    classes = _read_classes(structures, names)
    _check_base(base, replace)
    offset = 0 if replace else len(base.classes)
    pristine_structures = _set_structures(classes, offset, periodic_supercells=False)
    defect_structures = _set_structures(classes, offset, periodic_supercells=True)
    seeds = {stream: _seed(random_state, k) for k, stream in enumerate(SEED_STREAMS, 1)}
    build = dict(cache_dir=cache_dir, n_jobs=n_jobs, progress=progress)
    sets = {"user_pristine": dataset.pristine_set(settings=descriptor_settings,
                                                  structures=pristine_structures, **build)}
    if realisations:
        sets["user_augment"] = dataset.defect_set(
            dataset.AUGMENT_LEVELS, realisations=realisations, seed=seeds["augment"],
            structures=defect_structures, **build)
    holdout = {"new": dataset.defect_set([HOLDOUT_LEVEL], realisations=HOLDOUT_REALISATIONS,
                                         seed=seeds["holdout"], structures=defect_structures,
                                         **build)}
    weights, biases = base_layers(base)
    features = [last_hidden(base, s.X) for s in sets.values()]
    neighbours = []
    if not replace:
        neighbours = confused_classes(np.concatenate(features),
                                      np.concatenate([s.y for s in sets.values()]),
                                      weights[-1], biases[-1], per_class=n_neighbours)
        sets["base_classes"] = dataset.pristine_set(settings=[dataset.CENTRAL], **build)
        features.append(last_hidden(base, sets["base_classes"].X))
    if neighbours:
        near = dataset.base_structures(periodic_supercells=True, classes=neighbours)
        sets["base_neighbours"] = dataset.defect_set(
            NEIGHBOUR_LEVELS, realisations=1, seed=seeds["neighbours"], structures=near, **build)
        holdout["neighbours"] = dataset.defect_set(
            [HOLDOUT_LEVEL], realisations=1, seed=seeds["neighbour_holdout"], structures=near,
            **build)
        features.append(last_hidden(base, sets["base_neighbours"].X))
    n_classes = offset + len(names)
    start_w = np.zeros((weights[-1].shape[0], n_classes))
    start_b = np.zeros(n_classes)
    start_w[:, :offset] = weights[-1][:, :offset]
    start_b[:offset] = biases[-1][:offset]
    fit = fit_output_layer(np.concatenate(features), np.concatenate([s.y for s in sets.values()]),
                           start_w, start_b, n_fixed=offset, alpha=alpha)
    weights, biases = weights[:-1] + [fit.weights], biases[:-1] + [fit.biases]
    meta = {
        "class_set": CLASS_SET,
        "classes": ([] if replace else base.classes) + names,
        "class_names": ([] if replace else base.class_names) + names,
        "descriptor": base.metadata["descriptor"],
        "n_samples_default": base.default_n_samples,
        "log_base": base.metadata.get("log_base", 2),
        "training": {
            "method": "output layer fitted on the base model's frozen hidden layers "
                      "(L-BFGS, class-balanced softmax cross-entropy + L2)",
            "mode": "replace" if replace else "add",
            "base_model": {"file": base.path.name, "onnx_sha256": base.metadata["onnx_sha256"],
                           "class_set": base.metadata.get("class_set", "arise-108")},
            "user_classes": [
                {"name": name, "structures": len(found), "sha256": dataset.structures_sha256(
                    [(offset + k, bool(atoms.pbc.any()), atoms) for atoms in found])}
                for k, (name, found) in enumerate(zip(names, classes))],
            "settings": ("paper (99)" if descriptor_settings is None
                         else [list(s) for s in descriptor_settings]),
            "augment_levels": dataset.AUGMENT_LEVELS if realisations else [],
            "augment_realisations": realisations,
            "base_neighbours": [base.class_names[c] for c in neighbours],
            "neighbour_levels": NEIGHBOUR_LEVELS if neighbours else [],
            "random_state": random_state,
            "seeds": seeds,
            "alpha": alpha,
            "sets": {key: {"sha256": s.sha256(), "recipe": s.key, "n": len(s)}
                     for key, s in sets.items()},
            "fit": fit.record,
            "python": platform.python_version(),
        },
    }
    other = recalibrate(base.metadata.get("other"), base.anisotropy(
        np.concatenate([sets[k].X for k in ("user_pristine", "user_augment") if k in sets])))
    if other:
        meta["other"] = other
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / output.name
        write_model(weights, biases, base.dropout, trial, meta)
        meta["metrics"] = _metrics(ARISEModel(trial), holdout, sets.get("base_classes"))
    meta["training"]["seconds"] = round(time.time() - started, 1)
    write_model(weights, biases, base.dropout, output, meta)
    return ARISEModel(output)


def _metrics(model, holdout, base_classes):
    """Accuracies of a written model (MC dropout, its default passes, seed 0): per class on the
    held-out defective copies (new classes; base neighbours in add mode), and on the base
    classes' pristine structures."""
    names = model.class_names
    metrics = {"holdout_level": {"displacement": HOLDOUT_LEVEL[0], "missing": HOLDOUT_LEVEL[1],
                                 "realisations": {"new": HOLDOUT_REALISATIONS, "neighbours": 1}}}
    for key, data in holdout.items():
        right = model.predict(data.X, random_state=0).probabilities.argmax(axis=1) == data.y
        if key == "new":
            metrics["holdout_accuracy"] = float(right.mean())
        metrics[f"holdout_accuracy_{key}"] = {names[c]: float(right[data.y == c].mean())
                                              for c in np.unique(data.y)}
    if base_classes is not None:
        predicted = model.predict(base_classes.X, random_state=0).probabilities.argmax(axis=1)
        lost = sorted({(names[t], names[p]) for t, p in zip(base_classes.y, predicted) if t != p})
        metrics["base_pristine_accuracy"] = float((predicted == base_classes.y).mean())
        metrics["base_pristine_lost"] = [list(pair) for pair in lost]
        if lost:
            warnings.warn(f"With the new classes, pristine structures of {len(lost)} base "
                          f"class(es) are no longer recognised (class, now called): {lost}. "
                          "A new class is (nearly) the same structure as a base class.",
                          RuntimeWarning, stacklevel=3)
    return metrics


def _check_base(base, replace):
    if base.metadata["descriptor"] != ARISEDescriptor().parameters():
        raise ModelError(f"{base.path}: fine-tuning describes structures with this package's "
                         "descriptor, and the base model was trained with another "
                         f"({base.metadata['descriptor']}). Use the shipped model as base.")
    if not replace and base.metadata.get("class_set", "arise-108") != "arise-108":
        raise ModelError(f"Adding classes needs a base model whose classes are the 108 "
                         f"prototypes (their structures keep the new rows off them); "
                         f"{base.path.name} has class set {base.metadata.get('class_set')!r}. "
                         "Add all your classes to the shipped model in one call, or replace "
                         "the class set.")


def _set_structures(classes, offset, *, periodic_supercells):
    """(class_id, periodic, Atoms) of every structure of every new class (ids from offset)."""
    return [row for k, found in enumerate(classes) for atoms in found
            for row in dataset.class_structures(offset + k, atoms,
                                                periodic_supercells=periodic_supercells)]


def _seed(random_state, stream):
    """An int seed of one stream derived from ``random_state``."""
    return int(np.random.SeedSequence([random_state, stream]).generate_state(1)[0])


def _check_output(output, base):
    if not isinstance(output, (str, Path)):
        raise InputTypeError("The 'output' parameter must be a path (str or pathlib.Path) of "
                             f"an .onnx file. Got {type(output).__name__} instead.")
    output = Path(output)
    if output.suffix != ".onnx":
        raise InputError(f"The 'output' parameter must name an .onnx file (its metadata is "
                         f"written beside it as .json). Got {str(output)!r}.")
    if output.resolve() == base.path.resolve():
        raise InputError(f"The 'output' file {output} is the base model: choose another path.")
    return check_output_path(output, what="'output' model file")


def _check_names(names, base, replace):
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise InputTypeError("The 'names' parameter must be a list of str, one per class "
                             f"(e.g. ['A15']). Got {names!r} instead.")
    if not names:
        raise InputError("No classes given: pass at least one structure and its name.")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"Class names must be non-empty strings. Got {name!r}.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"Class names must be unique; {repeated} appear more than once.")
    if replace and len(names) < 2:
        raise InputError("Replacing the class set needs at least two classes (a softmax over "
                         f"one class says nothing). Got {list(names)}.")
    if not replace:
        taken = sorted(set(names) & (set(base.class_names) | set(base.classes)))
        if taken:
            raise InputError(f"{taken} already name classes of the base model "
                             f"{base.path.name}: choose other names, or replace the class set "
                             "(replace=True, --replace).")
    return list(names)


def _read_classes(structures, names):
    """Lists of (copied, checked) Atoms, one per class."""
    if isinstance(structures, (Atoms, str, Path)) or not isinstance(structures, (list, tuple)):
        raise InputTypeError("The 'structures' parameter must be a list with one entry per class "
                             "(an Atoms, a list of Atoms or a file path). Got "
                             f"{type(structures).__name__} instead.")
    if len(structures) != len(names):
        raise InputError(f"{len(structures)} structure entries but {len(names)} names: give "
                         "one name per class.")
    classes = []
    for name, entry in zip(names, structures):
        found = [atoms.copy() for atoms in read_structures(entry)]
        if not found:
            raise InputError(f"Class {name!r} has no structures (an empty list or file).")
        for j, atoms in enumerate(found):
            check_atoms(atoms, name=f"{name} #{j}")
        classes.append(found)
    return classes


def main(argv=None):
    """``python -m ase_arise.training.finetune``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ase_arise.training.finetune", description=__doc__.splitlines()[0],
        epilog="Each FILE is one class (every frame of it a structure of the class), named by "
               "the NAME at the same position.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="structure file of one class, read by ASE (positions in Å)")
    parser.add_argument("--name", nargs="+", required=True, metavar="NAME",
                        help="class names, one per FILE")
    parser.add_argument("--output", "-o", required=True, metavar="ONNX",
                        help="model file to write (.onnx; its .json beside it)")
    parser.add_argument("--replace", action="store_true",
                        help="the new classes replace the class set (default: they are added)")
    parser.add_argument("--model", default=None, metavar="ONNX",
                        help="base model (default: the shipped 108-prototype model)")
    parser.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                        metavar="SEED",
                        help="seed of the defective training copies (default: 0; --seed is "
                             "its old name)")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help=f"L2 penalty of the output-layer fit (default: {DEFAULT_ALPHA})")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="cache descriptor sets in DIR (default: no cache)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="descriptor processes (default: all cores)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        result = add_classes(args.files, args.name, args.output, model=args.model,
                             replace=args.replace, random_state=args.random_state, alpha=args.alpha,
                             cache_dir=args.cache, n_jobs=args.n_jobs,
                             progress=not args.no_progress)
    except (AriseError, OSError) as error:
        print(f"{parser.prog}: error: {one_line(error)}", file=sys.stderr)
        return 1
    metrics = result.metadata["metrics"]
    print(f"wrote {result.path} and {result.path.with_suffix('.json').name}: "
          f"{len(result.classes)} classes")
    print("held-out defective copies (1 % displacement, 5 % missing atoms) recognised:")
    for key in ("new", "neighbours"):
        for name, accuracy in metrics.get(f"holdout_accuracy_{key}", {}).items():
            print(f"  {name:24s} {accuracy:7.1%}{'' if key == 'new' else '  (base class)'}")
    if "base_pristine_accuracy" in metrics:
        print(f"base classes' pristine structures recognised: "
              f"{metrics['base_pristine_accuracy']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
