"""Calibrate the "Other" threshold of a model on liquids and glasses, and store it in its record.

    python -m ase_arise.training.calibrate [--model models/arise-108.onnx] [--n-jobs 2]

Amorphous side (the only families calibration may see, issue 16): EMT liquids of Al, Ni and Pt
(256 atoms, at 1.2 and 1.6 T_m, seeds 100-101, four snapshots 0.5 ps apart each) and the
glasses quenched from them (:mod:`ase_arise.benchmarks.amorphous`), scored as whole
structures and as the boxes ``label`` sees at its defaults (16 Å, fast mode). Crystalline side:
every prototype's cell and first supercell, pristine and at the defect protocol's hardest
levels (10 % displacement, 30 % missing, both, 5 % + 20 %), seed 7 (the protocol uses 0), and
the boxes ``label`` sees in periodic polycrystals with Gaussian noise of 3 % of d_NN (4 grains
in a 60 Å cube, 8 in an 80 Å cube, seed 7), whose boxes where three or four grains meet keep
only part of each grain's angular order.
The threshold (:func:`ase_arise.model.other.calibrate`) and both sides' quantiles are written
to the record's "other" entry; the .onnx file is not touched, the .json is replaced
atomically with a new checksum.
"""

import argparse
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..benchmarks.amorphous import (
    LIQUID_EXPANSION,
    METALS,
    cached,
    emt_glass,
    emt_liquid,
)
from ..build import polycrystal
from ..defects import defective_copy
from ..errors import IsolatedAtomsWarning, OverlappingAtomsWarning
from ..io.atomic import atomic_output
from ..labels import label
from ..model import ARISEModel
from ..model.other import calibrate
from ..model.record import CHECKSUM_KEY, record_digest
from ..prototypes import load_prototypes

ELEMENTS = ("Al", "Ni", "Pt")
TEMPERATURES = (1.2, 1.6)  # fractions of T_m
SEEDS = (100, 101)
SNAPSHOTS = 4
CRYSTAL_LEVELS = ((0.0, 0.0), (0.10, 0.0), (0.0, 0.30), (0.10, 0.30), (0.05, 0.20))
CRYSTAL_SEED = 7
POLYCRYSTALS = ((60.0, ("fcc", "bcc", "hcp", "diamond")),
                (80.0, ("fcc", "bcc", "hcp", "diamond") * 2))
NOISE = 0.03  # Gaussian, fraction of d_NN (2.5 Å) per component


def _amorphous_job(job):
    symbol, fraction, seed, cache = job
    recipe = {"symbol": symbol, "T": fraction * METALS[symbol][0], "repeat": 4, "steps": 200,
              "expansion": LIQUID_EXPANSION,
              "snapshots": SNAPSHOTS, "every": 100, "seed": seed}

    def make():
        liquids = emt_liquid(symbol, recipe["T"], repeat=4, steps=200, snapshots=SNAPSHOTS,
                             every=100, random_state=seed)
        return liquids + [emt_glass(s, random_state=seed) for s in liquids]
    return cached("calibration", make, recipe, cache=cache)


def amorphous_samples(*, n_jobs=2, cache=None):
    """The calibration liquids and glasses (list of Atoms)."""
    jobs = [(s, t, k, cache) for s in ELEMENTS for t in TEMPERATURES for k in SEEDS]
    with ProcessPoolExecutor(n_jobs) as pool:
        return [a for found in pool.map(_amorphous_job, jobs) for a in found]


def crystal_samples(random_state=CRYSTAL_SEED):
    """Every prototype's cell and first supercell at ``CRYSTAL_LEVELS`` (list of Atoms)."""
    rng = np.random.default_rng(random_state)
    out = []
    for p in load_prototypes():
        forms = [p.atoms()] + ([p.supercells()[0]] if p.is_periodic else [])
        out += [defective_copy(s, displacement=d, missing=m, random_state=rng)
                for s in forms for d, m in CRYSTAL_LEVELS]
    return out


def polycrystal_samples(random_state=CRYSTAL_SEED):
    """The noisy periodic polycrystals of the crystalline side (list of Atoms)."""
    rng = np.random.default_rng(random_state)
    out = []
    for length, grains in POLYCRYSTALS:
        atoms = polycrystal(length, grains, random_state=rng)
        atoms.positions += rng.normal(0.0, NOISE * 2.5, atoms.positions.shape)
        out.append(atoms)
    return out


def scores(model, amorphous, crystals, polycrystals=()):
    """(amorphous scores, crystalline scores): structures and label boxes, then structures and
    the polycrystals' label boxes."""
    calculator = model.descriptor()
    liquid = [model.anisotropy(np.array([calculator.create(s) for s in amorphous]))]
    for s in amorphous:
        boxes = label(s, model=model).spm
        liquid.append(boxes.anisotropy[boxes.valid])
    crystal = [model.anisotropy(np.array([calculator.create(s) for s in crystals]))]
    for s in polycrystals:
        boxes = label(s, model=model).spm
        crystal.append(boxes.anisotropy[boxes.valid])
    return np.concatenate(liquid), np.concatenate(crystal)


def write_other(model_path, other):
    """Replace the "other" entry of the record beside ``model_path`` (atomically)."""
    meta_path = Path(model_path).with_suffix(".json")
    record = json.loads(meta_path.read_text(encoding="utf-8"))
    record["other"] = other
    record[CHECKSUM_KEY] = record_digest(record)
    with atomic_output(meta_path, encoding="utf-8") as handle:
        handle.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return meta_path


def run(model_path=None, *, n_jobs=2, cache=None):
    """Calibrate and write; returns the "other" record."""
    started = time.time()
    model = ARISEModel(model_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsolatedAtomsWarning)
        warnings.simplefilter("ignore", OverlappingAtomsWarning)
        amorphous = amorphous_samples(n_jobs=n_jobs, cache=cache)
        liquid, crystal = scores(model, amorphous, crystal_samples(), polycrystal_samples())
    threshold, quantiles = calibrate(liquid, crystal)
    other = {"score": "anisotropy", "min_anisotropy": threshold,
             "calibration": {"amorphous": {"elements": list(ELEMENTS),
                                           "temperatures_of_melting": list(TEMPERATURES),
                                           "seeds": list(SEEDS), "snapshots": SNAPSHOTS,
                                           "structures": len(amorphous),
                                           "glasses": "quenched to 300 K in 0.3 ps"},
                             "crystalline": {"levels": [list(v) for v in CRYSTAL_LEVELS],
                                             "seed": CRYSTAL_SEED, "forms": "cell + first "
                                             "supercell of every prototype",
                                             "polycrystals": [[length, len(grains)] for
                                                              length, grains in POLYCRYSTALS],
                                             "polycrystal_noise": NOISE},
                             **quantiles, "seconds": round(time.time() - started, 1)}}
    write_other(model.path, other)
    return other


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model .onnx (default: the shipped one)")
    parser.add_argument("--n-jobs", type=int, default=2, help="MD processes")
    parser.add_argument("--cache", default=None, help="sample cache (default ~/.cache/arise)")
    args = parser.parse_args(argv)
    other = run(args.model, n_jobs=args.n_jobs, cache=args.cache)
    print(json.dumps(other, indent=1))


if __name__ == "__main__":
    main()
