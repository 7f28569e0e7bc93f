"""Scaling on a Dask LocalCluster: frames of a trajectory and many structures, W workers vs one.

    python -m ase_arise.benchmarks.dask_scaling [--atoms 100000] [--frames 8 64]
        [--workers 16] [--structures 512 4096] [--gpu-frames N] [--workdir DIR]
        [--domains 1000000 10000000]

Frames: a periodic polycrystal of ``--atoms`` atoms (fcc/bcc/hcp/diamond grains,
:func:`ase_arise.build.polycrystal`) rattled by 0.05 Å with a new seed per frame, written once
as an extended XYZ trajectory; ``arise label`` defaults (box 16 Å, stride 4 Å) through
:func:`ase_arise.distributed.frame_results`, each worker reading its own frames. Timed: 1
worker x 1 thread on the first ``--frames`` frames, W workers x 1 thread on the second count,
and 1 worker x W threads on the first count (with ``--gpu-frames N``, also one worker of W
threads on GPU 0, ``device="cuda:0"``, on N frames). Structures: ``classify`` of the
250-atom clusters of :mod:`.classify_speed`, 1 x 1 vs W x 1. Every cluster is warmed up first
(numba's kernels compiled, the model loaded in every worker); each time is the wall time from
submission to the last result. Prints a Markdown table; the speed-up is frames (structures)
per second against 1 x 1. Domains (``--domains N ...``): ``label`` of one periodic
polycrystal of N atoms (not rattled, defaults) split into spatial domains
(:mod:`ase_arise.spm.domains`); the first size on 1 x 1, W x 1 and 1 x W, the others on W x 1
only; the labels are checked against the 1 x 1 run's where there is one. ``--contention 1 8 16`` also times one frame in N plain processes
at once, without Dask: how much the node itself slows each process as it fills.
"""

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.io import write

from ase_arise import Settings, classify
from ase_arise.benchmarks.classify_speed import clusters
from ase_arise.build import cell_length, polycrystal
from ase_arise.distributed import frame_results, local_cluster
from ase_arise.io import open_trajectory


def _warm():
    """Compile numba's kernels and load the model in this process."""
    from ase_arise import label

    label(polycrystal(24.0, random_state=1))
    return True


def _peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _run(workers, threads, work):
    """(seconds, peak GB per worker) of ``work(client)`` on a warmed LocalCluster."""
    with local_cluster(workers, threads) as client:
        client.run(_warm)
        start = time.perf_counter()
        work(client)
        seconds = time.perf_counter() - start
        peaks = client.run(_peak_gb)
    return seconds, max(peaks.values())


def _row(rows, row):
    """Add and print a row (its speed-up against the first row of the same work)."""
    row["rate"] = row["items"] / row["seconds"]
    rows.append(row)
    first = next(r for r in rows if r["work"] == row["work"])
    where = "" if row.get("device", "cpu") == "cpu" else f" ({row['device']})"
    print(f"| {row['work']} | {row['workers']} x {row['threads']}{where} | {row['items']} | "
          f"{row['seconds']:.1f} | {row['rate']:.3g} | {row['rate'] / first['rate']:.2f}x | "
          f"{row['peak_gb']:.2f} |", flush=True)


def _label_alone(atoms):
    """Seconds of one ``label`` call here (after a warm-up), numba and BLAS on one thread."""
    import numba
    from threadpoolctl import threadpool_limits

    from ase_arise import label

    numba.set_num_threads(1)
    with threadpool_limits(1):
        _warm()
        start = time.perf_counter()
        label(atoms)
        return time.perf_counter() - start


def contention(atoms, counts):
    """Without Dask: N plain processes labelling ``atoms`` at once, for each N of ``counts``;
    (N, mean seconds per frame) - how the node itself slows each process as it fills."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    out = []
    for n in counts:
        with context.Pool(n) as pool:
            out.append((n, float(np.mean(pool.map(_label_alone, [atoms] * n)))))
    return out


def _frame_rows(rows, base, path, count, args):
    """Write ``count`` rattled copies of ``base`` to ``path`` and time the label runs."""
    w = args.workers
    frames = []
    for k in range(count):
        atoms = base.copy()
        atoms.rattle(0.05, seed=k)
        frames.append(atoms)
    write(path, frames)
    del frames
    trajectory = open_trajectory(path)
    settings = Settings(random_state=0)

    def label_frames(n, settings=settings):
        return lambda client: list(frame_results(trajectory, range(n), settings,
                                                 client=client))

    n1, nw = args.frames
    runs = [(1, 1, n1, settings), (w, 1, nw, settings), (1, w, n1, settings)]
    if args.gpu_frames:
        runs.append((1, w, args.gpu_frames, Settings(random_state=0, device="cuda:0")))
    for workers, threads, n, chosen in [run for run in runs if run[2]]:
        seconds, peak = _run(workers, threads, label_frames(n, chosen))
        _row(rows, dict(work=f"label, {len(base):,}-atom frames", workers=workers,
                        threads=threads, items=n, seconds=seconds, peak_gb=peak,
                        device=chosen.device))


def _traced(client, work):
    """``work()``, printing per kind of task: count, summed compute seconds and the span
    from the first start to the last end (Dask's task stream), and the phases' wall times
    (ase_arise.spm.domains' log)."""
    import logging

    from distributed import get_task_stream

    logger = logging.getLogger("ase_arise.spm.domains")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with get_task_stream(client) as stream:
            out = work()
    finally:
        logger.removeHandler(handler)
    kinds = {}
    for task in stream.data:
        kind = task["key"].split("-")[0] if isinstance(task["key"], str) else str(task["key"])
        for part in task["startstops"]:
            if part["action"] == "compute":
                entry = kinds.setdefault(kind, [0, 0.0, np.inf, -np.inf])
                entry[0] += 1
                entry[1] += part["stop"] - part["start"]
                entry[2] = min(entry[2], part["start"])
                entry[3] = max(entry[3], part["stop"])
    for kind, (count, busy, start, stop) in kinds.items():
        print(f"  tasks {kind}: {count}, {busy:.1f} s of compute, {stop - start:.1f} s span",
              flush=True)
    return out


def _domain_rows(rows, sizes, workers):
    """Time ``label(client=)`` of one polycrystal of each size in ``sizes`` (atoms)."""
    from ase_arise import label

    for k, n in enumerate(sizes):
        atoms = polycrystal(cell_length(n), random_state=0)
        runs = [(1, 1), (workers, 1), (1, workers)] if k == 0 else [(workers, 1)]
        found = []
        for w, threads in runs:
            seconds, peak = _run(w, threads, lambda client: found.append(
                _traced(client, lambda: label(atoms, client=client).class_id)))
            _row(rows, dict(work=f"label, one {len(atoms):,}-atom sample in domains",
                            workers=w, threads=threads, items=len(atoms), seconds=seconds,
                            peak_gb=peak))
        if len(found) > 1:
            same = all(np.array_equal(f, found[0]) for f in found[1:])
            print(f"labels of the {len(atoms):,}-atom sample identical in every run: {same}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=100_000, help="atoms per frame")
    parser.add_argument("--frames", type=int, nargs=2, default=(8, 64),
                        help="frames for 1 worker and for W workers (0 0: skip)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--structures", type=int, nargs=2, default=(512, 4096),
                        help="structures for 1 worker and for W workers (0 0: skip)")
    parser.add_argument("--gpu-frames", type=int, default=0, metavar="N",
                        help="also N frames on one GPU worker (1 worker x W threads, "
                             "device='cuda:0')")
    parser.add_argument("--contention", type=int, nargs="*", default=(), metavar="N",
                        help="also time one frame in each of N plain processes at once (no "
                             "Dask), for each N")
    parser.add_argument("--domains", type=int, nargs="*", default=(), metavar="N",
                        help="also label one N-atom sample in spatial domains, for each N "
                             "(the first on 1 x 1, W x 1 and 1 x W, the others on W x 1)")
    parser.add_argument("--workdir", default=None, help="where the trajectory is written")
    parser.add_argument("--json", default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    w = args.workers
    rows = []
    print(f"CPU: {os.cpu_count()} cores")
    print("| work | workers x threads | items | seconds | items/s | speed-up vs 1 x 1 | "
          "peak GB per worker |")
    print("|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        base = polycrystal(cell_length(args.atoms), random_state=0)
        count = max(*args.frames, args.gpu_frames)
        if count:
            _frame_rows(rows, base, Path(folder) / "trajectory.extxyz", count, args)
        for n, seconds in contention(base, args.contention):
            print(f"| label, {len(base):,}-atom frame, {n} plain processes at once (no Dask) "
                  f"| {n} x 1 | {n} | {seconds:.1f} s per frame | | | |", flush=True)
    _domain_rows(rows, args.domains, w)
    s1, sw = args.structures
    if s1:
        structures = clusters(max(s1, sw))
        for workers, n in [(1, s1), (w, sw)]:
            seconds, peak = _run(workers, 1, lambda client, n=n: classify(
                structures[:n], client=client))
            _row(rows, dict(work="classify, 250-atom clusters", workers=workers, threads=1,
                            items=n, seconds=seconds, peak_gb=peak))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
