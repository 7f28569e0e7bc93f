"""Contention probe by stage: a fast-mode planes task (a third of the x-planes) of a
250k-atom polycrystal split into its steps, then the chunks task of the middle third's
boxes, timed after a warm-up in N plain processes started together (no Dask)."""
import json
import math
import os
import sys
import time

import numba
import numpy as np

numba.set_num_threads(1)
from ase_arise.build import cell_length, polycrystal  # noqa: E402
from ase_arise.descriptor.dnn import sample_nearest  # noqa: E402
from ase_arise.descriptor.local_dnn import unit_reach, units_of  # noqa: E402
from ase_arise.distributed import task_fields  # noqa: E402
from ase_arise.settings import Settings  # noqa: E402
from ase_arise.spm import _kernels, domains  # noqa: E402
from ase_arise.spm.boxes import FastBoxes, grid_planes, tensor_grid  # noqa: E402
from ase_arise.spm.driver import box_centres, partition, scan_seed  # noqa: E402

atoms = polycrystal(cell_length(250000), random_state=0)
settings = Settings()
fields = task_fields(settings.replace(random_state=scan_seed(settings.random_state)))
sample = domains._Sample.of(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
args = (sample.wrapped, sample.numbers, sample.cell, sample.pbc)
_, by = sample_nearest(*args)
units = units_of(*args, by, unit_reach(by, atoms.numbers), np.arange(len(atoms)))
centres, shape = box_centres(atoms, settings)
ticks, where = tensor_grid(centres)
nx = len(ticks[0])
first, stop = nx // 3, 2 * nx // 3


def planes(first, stop, clock=None):
    """domains._planes_task, step by step."""
    clock = (lambda name: None) if clock is None else clock
    calculator = Settings(**fields).network.descriptor()
    half = settings.box / 2
    points, index = sample.images(half * math.sqrt(3), ticks[0][first] - half - 1.0,
                                  ticks[0][stop - 1] + half + 1.0)
    ranges = np.empty((len(points), 6), dtype=np.int64)
    _kernels.box_blocks(*ticks, half, points, ranges)
    mine = (ranges[:, 0] >= first) & (ranges[:, 0] < stop)
    needed, rows = np.unique(index[mine], return_inverse=True)
    clock("images and atoms")
    x = sample.wrapped[needed, 0]
    describer = FastBoxes(calculator, sample.wrapped, sample.numbers, sample.cell,
                          sample.pbc, units=units, near=sample.near_x,
                          window=(x.min(), x.max()))
    clock("neighbour cells")
    _, slot, coefficients, n_neighbors = describer.coefficients(needed)
    clock("coefficients (kernel)")
    out = grid_planes(ticks, half, points[mine], sample.numbers[index[mine]], slot[rows],
                      coefficients.reshape(len(needed), -1), n_neighbors.astype(np.float64),
                      describer.species, (0, len(ticks[0])), (0, len(ticks[1])))
    clock("grid planes")
    return out


class Clock(dict):
    def __init__(self):
        super().__init__()
        self.last = time.perf_counter()

    def __call__(self, name):
        now = time.perf_counter()
        self[name] = self.get(name, 0.0) + now - self.last
        self.last = now


_, chunk = partition(shape, 1, Settings(**fields).network.descriptor().basis)
middle = np.flatnonzero((where[0] >= first) & (where[0] < stop))
width = math.ceil(settings.box / settings.stride) + 2
inputs = [planes(max(0, first - width), stop)]  # the slices the middle third's boxes meet
planes(first, first + 1)  # warm-up (JIT)
domains._chunks_task(fields, ticks, tuple(w[middle[:chunk]] for w in where), chunk, *inputs)
gate = sys.argv[1]
open(sys.argv[2], "w").close()
while not os.path.exists(gate):
    time.sleep(0.05)
clock = Clock()
planes(first, stop, clock)
domains._chunks_task(fields, ticks, tuple(w[middle] for w in where), chunk, *inputs)
clock("chunks task (sums, spectra, network)")
print(json.dumps(clock), flush=True)
