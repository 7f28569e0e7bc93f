"""Contention probe: one fast-mode planes task (a third of the x-planes) of a 250k-atom
polycrystal, timed after a warm-up, in N plain processes started together."""
import sys, time, json, os
import numpy as np
import numba
numba.set_num_threads(1)
from ase_arise.build import cell_length, polycrystal
from ase_arise.settings import Settings
from ase_arise.spm import domains
from ase_arise.spm.driver import box_centres, scan_seed
from ase_arise.spm.boxes import tensor_grid
from ase_arise.descriptor.dnn import sample_nearest
from ase_arise.descriptor.local_dnn import unit_reach, units_of
from ase_arise.distributed import task_fields

atoms = polycrystal(cell_length(250000), random_state=0)
settings = Settings()
fields = task_fields(settings.replace(random_state=scan_seed(settings.random_state)))
sample = domains._Sample.of(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
args = (sample.wrapped, sample.numbers, sample.cell, sample.pbc)
_, by = sample_nearest(*args)
units = units_of(*args, by, unit_reach(by, atoms.numbers), np.arange(len(atoms)))
ticks, _ = tensor_grid(box_centres(atoms, settings)[0])
nx = len(ticks[0])
domains._planes_task(sample, fields, units, ticks, 0, 1)  # warm-up (JIT)
gate = sys.argv[1]
open(sys.argv[2], "w").close()
while not os.path.exists(gate):
    time.sleep(0.05)
t = time.perf_counter()
domains._planes_task(sample, fields, units, ticks, nx // 3, 2 * nx // 3)
print(json.dumps({"seconds": time.perf_counter() - t}), flush=True)
