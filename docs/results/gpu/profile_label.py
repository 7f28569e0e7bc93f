"""Profile label on the card: python docs/results/gpu/profile_label.py STRIDE [N_ATOMS]"""
import cProfile, pstats, sys, time, io
import numpy as np
from ase_arise import label
from ase_arise.build import cell_length, polycrystal
stride = float(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
atoms = polycrystal(cell_length(n), random_state=0)
label(atoms.copy(), stride=stride, device="cuda")
t = []
for _ in range(3):
    s = time.perf_counter(); label(atoms.copy(), stride=stride, device="cuda"); t.append(time.perf_counter() - s)
print("stride", stride, "calls", [round(x, 3) for x in t])
p = cProfile.Profile(); s = time.perf_counter(); p.runcall(lambda: label(atoms.copy(), stride=stride, device="cuda"))
print("profiled", time.perf_counter() - s)
st = pstats.Stats(p); st.sort_stats("tottime").print_stats(45)
st.print_callers("'get'|'reduce'|asarray|cupy._core.core.array|'copy'|argsort|'sort'|unique|nonzero|'take'|numeric.py")
st.sort_stats("cumulative").print_stats("ase_arise", 70)
