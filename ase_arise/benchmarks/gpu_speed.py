"""GPU throughput (issue 18): ``label`` of a periodic polycrystal and ``classify`` of many
clusters with device="cuda", the CPU on the same machine beside it.

    python -m ase_arise.benchmarks.gpu_speed [--atoms 1000000] [--structures 10000]
                                             [--repeats 5] [--strides 4,2] [--compare]
                                             [--device cuda] [--top N] [--no-stages]

``label`` (``--atoms 0``: none): a periodic four-grain polycrystal (:func:`ase_arise.build.polycrystal`) of about
``--atoms`` atoms, box 16 Å, stride 4 Å (and 2 Å), defaults otherwise: the median of
``repeats`` calls on fresh copies after one warm-up call, from an in-memory Atoms, transfers
included; with ``--compare`` the CPU path's labels beside them; then one call under cProfile,
its time split into the pipeline's stages (``--top N``: and the N functions with the most
time of their own). ``classify``:
``--structures`` non-periodic 250-atom clusters (as :mod:`.classify_speed` makes them) in one
call at T = 100. Prints Markdown with the GPU's name.
"""

import argparse
import cProfile
import os
import pstats
import time

import numpy as np

from ase_arise import classify, label
from ase_arise.benchmarks.classify_speed import clusters
from ase_arise.build import cell_length, polycrystal
from ase_arise.device import check_device, cuda_module

# Pipeline stages: the (module file, function) whose cumulative time (cProfile) each stage is.
STAGES = {
    "sample check": (("driver.py", "scanned_sample"),),
    "local d_NN": (("local_dnn.py", "sample_units"),),
    "neighbour cells": (("arise.py", "neighbor_cells"),),
    "coefficients (kernel + transfers)": (("arise.py", "center_coefficients"),),
    "box sums (on the GPU with the spectra)": (("boxes.py", "_grid_sums"),
                                               ("boxes.py", "_box_sums"),
                                               ("cuda.py", "box_descriptors"),
                                               ("cuda.py", "grid_descriptors")),
    "power spectra": (("soap.py", "power_spectrum"), ("cuda.py", "power_spectra")),
    "network (passes + transfers)": (("network.py", "predict"),),
    "per-atom rule": (("labels.py", "nearest_boxes"),),
}


def _timed(function, repeats):
    """(median seconds, each call's seconds, the last call's result) of ``repeats`` calls
    after a warm-up call."""
    out = function()  # warm-up: kernel compilation, model load
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), times, out


def _stages(function):
    """(seconds, {stage: cumulative seconds}, [(own seconds, "file:function")] descending) of
    one profiled call."""
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(function)
    total = time.perf_counter() - start
    stats = pstats.Stats(profile).stats
    own = sorted(((seconds, f"{os.path.basename(path)}:{name}") for (path, _, name),
                  (_, _, seconds, _, _) in stats.items()), reverse=True)
    out = {stage: sum(cumulative for (path, _, name), (_, _, _, cumulative, _)
                      in stats.items() if (os.path.basename(path), name) in names)
           for stage, names in STAGES.items()}
    return total, out, own


def main(n_atoms=1_000_000, n_structures=10_000, repeats=5, device="cuda", strides=(4.0, 2.0),
         compare=False, top=0, profile=True):
    device = check_device(device)
    name = "no GPU"
    if device != "cpu":
        cupy, card = cuda_module(device)
        name = cupy.cuda.runtime.getDeviceProperties(card.id)["name"].decode()
    print(f"# GPU throughput: {name} ({device}), {os.cpu_count()} CPU cores")
    if n_atoms:
        _label_speed(n_atoms, repeats, device, strides, compare, top, profile)
    if n_structures:
        _classify_speed(n_structures, device)


def _label_speed(n_atoms, repeats, device, strides, compare, top, profile):
    atoms = polycrystal(cell_length(n_atoms), random_state=0)
    print(f"\n## label, {len(atoms):,} atoms, box 16 Å, median of {repeats} fresh copies\n")
    print("| stride (Å) | device | s per call | atoms/s | calls (s) |")
    print("|---:|---|---:|---:|---|")
    results = {}
    for stride in strides:
        run = lambda: label(atoms.copy(), stride=stride, device=device)  # noqa: E731
        median, times, results[stride] = _timed(run, repeats)
        print(f"| {stride:g} | {device} | {median:.2f} | {len(atoms) / median:,.0f} | "
              f"{', '.join(f'{t:.2f}' for t in times)} |")
    if compare:
        cpu = label(atoms.copy(), stride=strides[0])
        same = float(np.mean(cpu.class_id == results[strides[0]].class_id))
        print(f"\nStride {strides[0]:g} against the CPU path on this machine: {same:.5f} of "
              "atoms with the same label.")
    if device != "cpu":
        cupy = cuda_module(device)[0]
        print(f"\nCard memory CuPy's pool holds after these calls (its peak): "
              f"{cupy.get_default_memory_pool().total_bytes() / 1e9:.1f} GB")
    if not profile:
        return
    total, stages, own = _stages(lambda: label(atoms.copy(), stride=strides[0],
                                               device=device))
    print(f"\nStages of one stride-{strides[0]:g} call under cProfile ({total:.2f} s):\n")
    print("| stage | s |")
    print("|---|---:|")
    for stage, seconds in stages.items():
        print(f"| {stage} | {seconds:.2f} |")
    if top:
        print(f"\nThe {top} functions with the most time of their own:\n")
        print("| function | s |")
        print("|---|---:|")
        for seconds, name in own[:top]:
            print(f"| {name} | {seconds:.3f} |")


def _classify_speed(n_structures, device):
    structures = clusters(n_structures)
    print(f"\n## classify, {n_structures:,} non-periodic 250-atom clusters, T = 100, one call\n")
    print("| device | s | structures/s |")
    print("|---|---:|---:|")
    for where, count in ((device, n_structures), ("cpu", min(n_structures, 1000))):
        median = _timed(lambda: classify(structures[:count], device=where), 1)[0]
        print(f"| {where} | {median:.2f} | {count / median:,.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=1_000_000, help="0: no label")
    parser.add_argument("--structures", type=int, default=10_000, help="0: no classify")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--strides", default="4,2", help="strides (Å), comma-separated")
    parser.add_argument("--compare", action="store_true", help="also label on the CPU")
    parser.add_argument("--top", type=int, default=0,
                        help="also list the N functions with the most time of their own")
    parser.add_argument("--no-stages", action="store_true",
                        help="no profiled label call: the timed calls only")
    args = parser.parse_args()
    main(args.atoms, args.structures, args.repeats, args.device,
         tuple(float(s) for s in args.strides.split(",")), args.compare, args.top,
         not args.no_stages)
