"""Per-atom accuracy on a periodic polycrystal: ARISE against PTM and a-CNA under defects.

A periodic cube of fcc, bcc, hcp and diamond Voronoi grains in random orientations
(:func:`ase_arise.build.polycrystal`, one element, so only the geometry tells the grains apart)
is labelled per atom at growing displacement and missing-atom levels; ground truth is the grain
each atom was built in. Atoms more than 5 Å from any atom of another grain ("interior") and the
others ("boundary") are scored separately. Displacements are fractions of the sample's d_NN
(2.5 Å: the metal grains'; the diamond grain's own d_NN is 1.55 Å).

    python -m ovito_arise.benchmarks.polycrystal [--quick] [--length 100] [--stride 4]
        [--noise 0.03] [--mi-weights 0,1,2,3]

``--noise`` adds Gaussian noise (fraction of 2.5 Å per component, as thermal vibrations) to the
sample before the levels; ``--mi-weights`` scores the per-atom rule of :func:`ase_arise.label`
with several MI weights from one scan (the order term as in ``label``).
"""

import argparse
import time

import numpy as np

from ase_arise import defective_copy, label, spm
from ase_arise.build import polycrystal
from ase_arise.labels import MI_WEIGHT, gather, nearest_boxes

from .label_speed import FAR, GRAINS, distance_to_other_grains
from .peers import peer_prototypes

LEVELS = ((0.0, 0.0), (0.01, 0.0), (0.02, 0.0), (0.04, 0.0), (0.0, 0.10), (0.0, 0.20),
          (0.0, 0.30), (0.01, 0.20))
QUICK_LEVELS = ((0.0, 0.0), (0.01, 0.20))
PEERS = ("PTM", "a-CNA")


def _arise_rules(sample, mi_weights, *, box, stride, random_state):
    """{method name: per-atom names} for each MI weight of the per-atom rule, one scan."""
    result = spm(sample, box=box, stride=stride, random_state=random_state)
    return {f"ARISE (MI weight {weight:g})": result.names_of(gather(
        result.class_id, nearest_boxes(sample, result, mi_weight=weight), -1))
        for weight in mi_weights}


def noisy_polycrystal(length, grains=GRAINS, *, noise=0.0, c_over_a=None, random_state=0):
    """:func:`ase_arise.build.polycrystal` with Gaussian noise (``noise`` × 2.5 Å per component)
    and ``arrays["interior"]``: atoms more than ``FAR`` Å from every atom of another grain."""
    atoms = polycrystal(length, grains, c_over_a=c_over_a, random_state=random_state)
    if noise:
        rng = np.random.default_rng(random_state)
        atoms.positions += rng.normal(0.0, noise * 2.5, atoms.positions.shape)
    atoms.arrays["interior"] = distance_to_other_grains(atoms) > FAR
    return atoms


def run(*, quick=False, length=None, stride=4.0, box=16.0, noise=0.0, mi_weights=(MI_WEIGHT,),
        random_state=0):
    """Accuracy of ARISE, PTM and a-CNA per level, interior and boundary atoms apart.

    Parameters
    ----------
    quick : bool, default=False
        Two levels on a 60 Å cube instead of eight on a 100 Å cube.
    length : float, optional
        Cube edge (Å).
    stride, box : float
        ARISE's SPM settings (Å).
    random_state : int, default=0
        Grains, defects and dropout masks.

    Returns
    -------
    dict
        "rows": one dict per (level, method) with accuracy_all / interior / boundary (fractions)
        and seconds; "atoms", "length", "stride", "box", "interior_fraction".
    """
    length = length or (60.0 if quick else 100.0)
    atoms = noisy_polycrystal(length, noise=noise, random_state=random_state)
    rows = []
    for level in (QUICK_LEVELS if quick else LEVELS):
        sample = defective_copy(atoms, displacement=level[0], missing=level[1],
                                random_state=random_state)
        truth = np.array(atoms.info["grains"], dtype=object)[sample.arrays["grain"]]
        interior = sample.arrays["interior"]
        started = time.perf_counter()
        if tuple(mi_weights) == (MI_WEIGHT,):
            answers = {"ARISE": label(sample, box=box, stride=stride,
                                      random_state=random_state).names}
        else:
            answers = _arise_rules(sample, mi_weights, box=box, stride=stride,
                                   random_state=random_state)
        arise_seconds = time.perf_counter() - started
        for method in list(answers) + list(PEERS):
            started = time.perf_counter()
            found = answers[method] if method in answers else peer_prototypes(sample, method)
            seconds = arise_seconds if method in answers else time.perf_counter() - started
            right = found == truth
            rows.append(dict(method=method, displacement=level[0], missing=level[1],
                             atoms=len(sample), seconds=seconds,
                             accuracy_all=float(right.mean()),
                             accuracy_interior=float(right[interior].mean()),
                             accuracy_boundary=float(right[~interior].mean())))
    return dict(rows=rows, atoms=len(atoms), length=length, stride=stride, box=box, noise=noise,
                interior_fraction=float(atoms.arrays["interior"].mean()))


def markdown(result):
    """The result as a Markdown table (accuracy %)."""
    lines = [f"### Periodic polycrystal ({result['atoms']:,} atoms, {result['length']:g} Å cube, "
             f"fcc/bcc/hcp/diamond grains; {result['interior_fraction']:.0%} of the atoms "
             f"interior, > {FAR:g} Å from another grain; ARISE box {result['box']:g} Å, stride "
             f"{result['stride']:g} Å; Gaussian noise {result['noise']:.0%} of 2.5 Å): per-atom "
             "accuracy %", "",
             "| displacement % | missing % | method | all | interior | boundary | s |",
             "|---:|---:|---|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {100 * r['displacement']:g} | {100 * r['missing']:g} | {r['method']} | "
                     f"{100 * r['accuracy_all']:.1f} | {100 * r['accuracy_interior']:.1f} | "
                     f"{100 * r['accuracy_boundary']:.1f} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 levels, 60 Å cube")
    parser.add_argument("--length", type=float, default=None, help="cube edge (Å)")
    parser.add_argument("--stride", type=float, default=4.0, help="ARISE SPM stride (Å)")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="Gaussian noise, fraction of 2.5 Å per component")
    parser.add_argument("--mi-weights", default=str(MI_WEIGHT),
                        help="comma-separated MI weights of the per-atom rule")
    parser.add_argument("--random-state", "--seed", dest="random_state", type=int,
                        default=0, metavar="SEED", help="grains, defects, dropout")
    args = parser.parse_args(argv)
    weights = tuple(float(w) for w in args.mi_weights.split(","))
    print(markdown(run(quick=args.quick, length=args.length, stride=args.stride,
                       noise=args.noise, mi_weights=weights, random_state=args.random_state)))


if __name__ == "__main__":
    main()
