"""ARISE against PTM, CNA, a-CNA, Ackland-Jones (BAA) and spglib, in one command.

    python -m ovito_arise.benchmarks.protocol [--quick] [--realisations 10] [--output benchmark]
        [--cache cache] [--spm-stride 6] [--polycrystal]

Regenerates the paper's comparison (Table 2, Supplementary Tables 1-3 and Note 1) on this
machine, with OVITO's own implementations of the peers, on the structures of the defect protocol:
each prototype's three supercells (periodic and non-periodic; nanotubes: the finite tube), with
uniform displacements of up to delta * d_NN per component, missing atoms, and both, in
``--realisations`` random copies (seeds of :func:`ase_arise.training.dataset.protocol_copy`).

Scoring (Supplementary Note 1): per-atom methods (PTM, CNA, a-CNA, BAA and ARISE via SPM) and
spglib see the periodic structures only; ARISE's structure-level prediction sees all. A per-atom
method scores the fraction of atoms labelled with the structure's prototype; unstarred rows count
only the structures of the classes a method was designed for, starred rows all periodic
structures (96 classes). Label -> prototype mapping: :mod:`ovito_arise.peers` (PTM: 13 classes
with today's orderings, the paper's 12 plus BN; CNA, a-CNA, BAA: fcc, hcp, bcc). spglib scores a
structure when the space group it finds (loose: 0.1 Å / 5°, tight: 1e-4 Å / 1°) is the
prototype's; unstarred: the AFLOW elemental and binary prototypes (the paper's main table),
starred: all periodic ones (a class with no reference space group, or with P1, which any
disordered copy has, counts as not found).

Results per (level, realisation) are cached in ``--cache`` (a rerun resumes); the output folder
receives table.md (laid out like the paper's tables, ours beside the paper's), results.csv,
results.json (with machine and versions) and accuracy.png. ``--quick`` runs three levels once
and checks known cells (exit status 1 if one fails). ``--polycrystal`` adds the per-atom
polycrystal benchmark (:mod:`ovito_arise.polycrystal_benchmark`).
"""

import argparse
import csv
import hashlib
import json
import os
import platform
import sys
import time
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import spglib
import spglib.error
from tqdm.auto import tqdm

from ase_arise import classify, label, load_prototypes
from ase_arise.benchmarks.paper import level_name, paper_accuracy
from ase_arise.model import ARISEModel, load_model
from ase_arise.training import dataset

from .peers import DESIGNED_FOR, METHODS, peer_prototypes

SPGLIB_SETTINGS = {"spglib loose": (0.1, 5.0), "spglib tight": (1e-4, 1.0)}
QUICK_LEVELS = ((0.0, 0.0), (0.01, 0.0), (0.0, 0.20))
SPM_METHOD = "ARISE (per atom, SPM)"
ARISE = "ARISE"
# bump when what a cached (level, realisation) entry holds changes
CACHE_VERSION = 1


def _spglib_found(atoms, symprec, angle_tolerance):
    """The space-group number spglib finds (0 when it finds none)."""
    # spglib's C core prints a warning per call unless told not to; and spglib >= 2.5 raises
    # SpglibError on failure (instead of returning None) once the old handling is switched off
    os.environ["SPGLIB_WARNING"] = "OFF"
    os.environ["SPGLIB_OLD_ERROR_HANDLING"] = "false"
    try:
        found = spglib.get_symmetry_dataset(
            (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec=symprec,
            angle_tolerance=angle_tolerance)
    except spglib.error.SpglibError:
        return 0
    return int(found.number)


def periodic_level(structures, level, realisation, *, spm_stride=None, box=16.0, model=None):
    """Per-atom peers, spglib and (optionally) ARISE via SPM on the periodic structures of a level.

    Returns
    -------
    dict
        method -> {"correct": atoms (or structures) right over designed-for structures,
        "total": ..., "correct_all": ... over all periodic structures, "total_all": ...,
        "seconds": wall time, "atoms": atoms processed}; plus per-class tallies in "per_class".
    """
    prototypes = load_prototypes()
    names = [p.name for p in prototypes]
    methods = list(METHODS) + list(SPGLIB_SETTINGS) + ([SPM_METHOD] if spm_stride else [])
    tally = {m: dict(correct=0, total=0, correct_all=0, total_all=0, seconds=0.0, atoms=0)
             for m in methods}
    per_class = {}
    for index, (class_id, periodic, _) in enumerate(structures):
        if not periodic:
            continue
        atoms = dataset.protocol_copy(structures, index, level, realisation)
        truth = names[class_id]
        prototype = prototypes[class_id]
        for method in methods:
            started = time.perf_counter()
            if method in SPGLIB_SETTINGS:
                found = _spglib_found(atoms, *SPGLIB_SETTINGS[method])
                # P1 (1) is no label: every disordered structure has it (Supp. Note 1)
                right = int(found == prototype.space_group and found > 1)
                count = 1
                designed = prototype.source.startswith("AFLOW") and \
                    prototype.material_type in ("elemental", "binary")
            else:
                if method == SPM_METHOD:
                    labels = label(atoms, box=box, stride=spm_stride, model=model,
                                   random_state=0).names
                    designed = True
                else:
                    labels = peer_prototypes(atoms, method)
                    designed = truth in DESIGNED_FOR[method]
                right, count = int(np.sum(labels == truth)), len(atoms)
            entry = tally[method]
            entry["seconds"] += time.perf_counter() - started
            entry["atoms"] += len(atoms)
            entry["correct_all"] += right
            entry["total_all"] += count
            if designed:
                entry["correct"] += right
                entry["total"] += count
            per_class.setdefault(method, {}).setdefault(truth, [0, 0])
            per_class[method][truth][0] += right
            per_class[method][truth][1] += count
    for method in methods:
        tally[method]["per_class"] = per_class[method]
    return tally


# The structures and the single-threaded model of a worker process of :func:`run`.
_WORKER = {}


def _worker_init():
    import numba

    numba.set_num_threads(1)  # the pool is the parallelism
    _WORKER["structures"] = dataset.base_structures(periodic_supercells=True)
    _WORKER["model"] = ARISEModel(n_threads=1)


def _periodic_job(job):
    level, realisation, stride = job
    return periodic_level(_WORKER["structures"], level, realisation, spm_stride=stride,
                          model=_WORKER["model"])


def arise_level(model, cache, level, realisations, n_jobs=None):
    """ARISE's structure-level accuracy per realisation (all 588 structures; cached
    descriptors of :func:`ase_arise.training.dataset.defect_set`)."""
    data = dataset.defect_set([level], cache, realisations=realisations, n_jobs=n_jobs,
                              progress=False)
    prediction = model.predict(data.X, random_state=0)
    right = prediction.probabilities.argmax(axis=1) == data.y
    out = {}
    for r in range(realisations):
        mine = data.info["realisation"] == r
        out[r] = dict(correct=int(right[mine].sum()), total=int(mine.sum()),
                      correct_all=int(right[mine].sum()), total_all=int(mine.sum()),
                      mean_mutual_information=float(prediction.mutual_information[mine].mean()))
    return out


def arise_speed(structures, level, model):
    """ARISE's structure-level throughput on the periodic structures of one level (descriptor
    and T MC-dropout passes, atoms/s), measured like the peers'."""
    atoms = [dataset.protocol_copy(structures, i, level, 0)
             for i, (_, periodic, _) in enumerate(structures) if periodic]
    classify(atoms[0], model=model)  # JIT warm-up outside the timing
    started = time.perf_counter()
    classify(atoms, model=model)
    return dict(seconds=time.perf_counter() - started, atoms=sum(len(a) for a in atoms))


def _cache_file(cache, level, realisation, spm_stride):
    key = json.dumps({"level": level, "realisation": realisation, "spm_stride": spm_stride,
                      "version": CACHE_VERSION, "prototypes": dataset._prototypes_sha256()},
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(cache) / "benchmark" / f"periodic-{digest}.json"


def run(levels, realisations, *, cache="cache", spm_stride=6.0, spm_realisations=1,
        n_jobs=None, progress=True):
    """The whole comparison; returns the result record (see :func:`write_outputs`).

    ``n_jobs`` processes describe the structures and run the per-atom methods (their timings are
    then per process, with the processes sharing the cores).
    """
    model = load_model(None)
    structures = dataset.base_structures(periodic_supercells=True)
    jobs = [(level, r, spm_stride if r < spm_realisations else None)
            for level in levels for r in range(realisations)]
    tallies = {job: json.loads(_cache_file(cache, *job).read_text()) for job in jobs
               if _cache_file(cache, *job).is_file()}
    todo = [job for job in jobs if job not in tallies]
    workers = min(n_jobs or 1, max(len(todo), 1))
    with tqdm(total=len(todo), desc="benchmark (level, realisation)",
              disable=not progress) as bar:
        if workers == 1:
            done = (periodic_level(structures, level, r, spm_stride=stride, model=model)
                    for level, r, stride in todo)
            pool = None
        else:
            # spawned processes: forking after numba/onnxruntime threads ran can deadlock
            pool = get_context("spawn").Pool(workers, _worker_init)
            done = pool.imap(_periodic_job, todo)
        try:
            for job, tally in zip(todo, done):
                path = _cache_file(cache, *job)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(tally))
                tallies[job] = tally
                bar.update()
        finally:
            if pool is not None:
                pool.terminate()
    rows = [dict(method=m, displacement=level[0], missing=level[1], realisation=r, **v)
            for (level, r, _), tally in ((job, tallies[job]) for job in jobs)
            for m, v in tally.items()]
    for level in levels:
        for r, v in arise_level(model, cache, level, realisations, n_jobs).items():
            rows.append(dict(method=ARISE, displacement=level[0], missing=level[1],
                             realisation=r, **v))
    speed = arise_speed(structures, levels[0], model)
    return dict(rows=rows, levels=[list(level) for level in levels], realisations=realisations,
                spm_stride=spm_stride, spm_realisations=spm_realisations,
                arise_speed=speed, machine=machine(), seeds={
                    "protocol": dataset.PROTOCOL_SEED, "dropout": 0})


def machine():
    """Machine and package versions of this run."""
    versions = {}
    for package in ("arise-crystal-recognition", "ovito", "spglib", "onnxruntime", "numpy",
                    "ase", "numba"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return dict(processor=platform.processor() or platform.machine(), cores=os.cpu_count(),
                python=platform.python_version(), system=platform.platform(),
                versions=versions, model=load_model(None).metadata["onnx_sha256"][:12])


def accuracy_table(record):
    """Accuracy (%) per (row name, level): unstarred and starred rows, as in the paper."""
    sums = {}
    for row in record["rows"]:
        level = (row["displacement"], row["missing"])
        base = row["method"]
        for name, correct, total in ((base, row["correct"], row["total"]),
                                     (_starred(base), row["correct_all"], row["total_all"])):
            if name is None or total == 0:
                continue
            entry = sums.setdefault((name, level), [0, 0])
            entry[0] += correct
            entry[1] += total
    return {key: 100.0 * c / t for key, (c, t) in sums.items()}


def _starred(method):
    """The starred row name of a method (None for rows that already count every class)."""
    if method in (ARISE, SPM_METHOD):
        return None
    if method.startswith("spglib"):
        return method.replace("spglib", "spglib*")
    return f"{method}*"


def row_names(record):
    """Table rows in the paper's order."""
    present = {name for name, _ in accuracy_table(record)}
    order = []
    for method in list(SPGLIB_SETTINGS) + list(METHODS):
        order += [method, _starred(method)]
    order += [ARISE, SPM_METHOD]
    return [name for name in order if name in present]


def speeds(record):
    """Atoms per second of every method over the structures of this run (same structures)."""
    totals = {}
    for row in record["rows"]:
        if "seconds" in row:
            entry = totals.setdefault(row["method"], [0.0, 0])
            entry[0] += row["seconds"]
            entry[1] += row["atoms"]
    out = {m: a / s for m, (s, a) in totals.items() if s > 0}
    speed = record["arise_speed"]
    out[f"{ARISE} (structure: descriptor + {load_model(None).default_n_samples} passes)"] = \
        speed["atoms"] / speed["seconds"]
    return out


def markdown(record):
    """The tables, laid out like Table 2 / Supplementary Tables 1-3: "ours (paper)" cells."""
    table = accuracy_table(record)
    levels = [tuple(level) for level in record["levels"]]
    groups = [("Table 2", [lv for lv in levels if lv == (0.0, 0.0) or (
                  lv[0] <= 0.04 and lv[1] == 0) or (lv[0] == 0 and lv[1] <= 0.20)]),
              ("Supplementary Table 2", [lv for lv in levels if (lv[0] > 0.04 and lv[1] == 0)
                                         or (lv[0] == 0 and lv[1] > 0.20)]),
              ("Supplementary Table 3", [lv for lv in levels if lv[0] and lv[1]])]
    lines = []
    for title, columns in groups:
        if not columns:
            continue
        lines += [f"### {title}: accuracy %, this run (paper)", "",
                  "| method | " + " | ".join(level_name(lv) for lv in columns) + " |",
                  "|---|" + "---:|" * len(columns)]
        for name in row_names(record):
            cells = []
            for level in columns:
                ours = table.get((name, level))
                paper = paper_accuracy(name, level)
                text = "—" if ours is None else f"{ours:.2f}"
                cells.append(text + ("" if paper is None else f" ({paper:.2f})"))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if "polycrystal" in record:
        from .polycrystal import markdown as polycrystal_markdown

        lines += [polycrystal_markdown(record["polycrystal"]), ""]
    lines += ["### Speed (atoms/s, this machine, same structures; OVITO's pipeline set-up per "
              "structure included)", "",
              "| method | atoms/s |", "|---|---:|"]
    lines += [f"| {m} | {v:,.0f} |" for m, v in speeds(record).items()]
    m = record["machine"]
    lines += ["", f"{record['realisations']} realisation(s) per level; ARISE per atom via SPM "
              f"(box 16 Å, stride {record['spm_stride']:g} Å) on the first "
              f"{record['spm_realisations']}. Machine: {m['processor']}, {m['cores']} cores, "
              f"Python {m['python']}; {', '.join(f'{k} {v}' for k, v in m['versions'].items())};"
              f" model sha256 {m['model']}."]
    return "\n".join(lines)


def write_outputs(record, output):
    """table.md, results.csv, results.json and accuracy.png in the folder ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "table.md").write_text(markdown(record) + "\n")
    (output / "results.json").write_text(json.dumps(record, indent=1))
    table = accuracy_table(record)
    levels = [tuple(level) for level in record["levels"]]
    with open(output / "results.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "displacement", "missing", "accuracy_percent",
                         "paper_percent"])
        for name in row_names(record):
            for level in levels:
                if (name, level) in table:
                    writer.writerow([name, level[0], level[1], f"{table[name, level]:.4f}",
                                     paper_accuracy(name, level)])
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, (title, keep) in zip(axes, (("displacement (% of d_NN)", lambda lv: lv[1] == 0),
                                        ("missing atoms (%)", lambda lv: lv[0] == 0))):
        chosen = [lv for lv in levels if keep(lv)]
        x = [100 * (lv[0] if lv[1] == 0 else lv[1]) for lv in chosen]
        bases = list(dict.fromkeys(name.replace("*", "") for name in row_names(record)))
        for name in row_names(record):
            y = [table.get((name, lv), np.nan) for lv in chosen]
            arise = name.startswith(ARISE)
            ax.plot(x, y, marker="o", label=name, linestyle="--" if "*" in name else "-",
                    color=plt.cm.tab10(bases.index(name.replace("*", "")) % 10),
                    linewidth=2.5 if arise else 1.2, zorder=3 if arise else 2)
        ax.set_xlabel(title)
        ax.set_xscale("symlog", linthresh=0.1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.suptitle("ARISE vs OVITO's PTM, CNA, a-CNA, Ackland-Jones and spglib "
                    "(starred: all classes)")
    figure.tight_layout()
    figure.savefig(output / "accuracy.png", dpi=110)
    plt.close(figure)


def quick_checks(record):
    """The known cells of the quick run: (description, passed) pairs."""
    table = accuracy_table(record)
    per_class = {}
    for row in record["rows"]:
        for name, (c, t) in row.get("per_class", {}).items():
            key = (row["method"], (row["displacement"], row["missing"]), name)
            per_class[key] = c / t
    pristine, shifted, missing = QUICK_LEVELS
    return [
        ("ARISE pristine 100 %", table[ARISE, pristine] == 100.0),
        ("PTM on pristine fcc 100 %", per_class["PTM", pristine, "fcc"] == 1.0),
        ("a-CNA: every atom of pristine diamond is 'Other' (0 % diamond)",
         per_class["a-CNA", pristine, "diamond"] == 0.0),
        ("spglib tight ≈ 0 % at 1 % displacement", table["spglib tight", shifted] < 1.0),
        ("ARISE ≥ 99 % at 20 % missing atoms", table[ARISE, missing] >= 99.0),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Displacements are fractions of d_NN, missing atoms fractions of the atoms.")
    parser.add_argument("--quick", action="store_true",
                        help="3 levels, 1 realisation, checks of known cells (a few minutes)")
    parser.add_argument("--realisations", type=int, default=10,
                        help="random copies per level (paper: 10)")
    parser.add_argument("--spm-stride", type=float, default=6.0,
                        help="stride (Å) of ARISE per atom via SPM (box 16 Å); 0: skip it")
    parser.add_argument("--spm-realisations", type=int, default=1,
                        help="realisations that also run ARISE per atom via SPM")
    parser.add_argument("--cache", default="cache", help="cache folder (resumable)")
    parser.add_argument("--output", default="benchmark", help="folder for the results")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="processes for descriptors and peers (default: 1 for the peers)")
    parser.add_argument("--polycrystal", action="store_true",
                        help="also run the per-atom polycrystal benchmark")
    args = parser.parse_args(argv)
    levels = QUICK_LEVELS if args.quick else dataset.PROTOCOL_LEVELS
    realisations = 1 if args.quick else args.realisations
    started = time.time()
    record = run(levels, realisations, cache=args.cache, spm_stride=args.spm_stride or None,
                 spm_realisations=args.spm_realisations, n_jobs=args.n_jobs)
    record["seconds"] = round(time.time() - started, 1)
    if args.polycrystal:
        from .polycrystal import run as polycrystal_run

        record["polycrystal"] = polycrystal_run(quick=args.quick)
    write_outputs(record, args.output)
    print(markdown(record))
    print(f"\n{record['seconds']:.0f} s; results in {args.output}/")
    if not args.quick:
        return 0
    checks = quick_checks(record)
    for text, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    return 0 if all(passed for _, passed in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
