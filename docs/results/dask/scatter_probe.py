"""Scatter probe: how long the domains' broadcast of a 10^6-atom sample takes on a
LocalCluster of N workers (1 thread each), against one worker plus Dask's replicate, and
against each worker's tasks fetching it from one holder (no Dask work otherwise).

    python docs/results/dask/scatter_probe.py 16
"""
import sys
import time

import numpy as np

from ase_arise.distributed import local_cluster
from ase_arise.spm.domains import _Sample


def _size(sample):
    return len(sample.wrapped)


if __name__ == "__main__":
    workers = int(sys.argv[1])
    rng = np.random.default_rng(0)
    n = 1_015_843
    cell = np.diag([230.0, 230.0, 230.0])
    sample = _Sample.of(rng.random((n, 3)) @ cell, np.full(n, 29), cell, np.ones(3, bool))
    mb = sum(a.nbytes for a in (sample.wrapped, sample.numbers, sample.by_x,
                                sample.x_sorted)) / 1e6
    with local_cluster(workers, 1) as client:
        client.run(lambda: None)
        for _ in range(2):
            start = time.perf_counter()
            shared = client.scatter(sample, broadcast=True, hash=False)
            client.gather([client.submit(_size, shared, pure=False, workers=[w])
                           for w in client.nthreads()])
            print(f"broadcast scatter of {mb:.0f} MB to {workers} workers and a task on each: "
                  f"{time.perf_counter() - start:.2f} s", flush=True)
            del shared
            start = time.perf_counter()
            one = client.scatter(sample, hash=False)
            client.replicate([one])
            client.gather([client.submit(_size, one, pure=False, workers=[w])
                           for w in client.nthreads()])
            print(f"scatter to one, replicate, a task on each: "
                  f"{time.perf_counter() - start:.2f} s", flush=True)
            del one
            start = time.perf_counter()
            one = client.scatter(sample, hash=False)
            client.gather([client.submit(_size, one, pure=False, workers=[w])
                           for w in client.nthreads()])
            print(f"scatter to one, each worker's task fetches it: "
                  f"{time.perf_counter() - start:.2f} s", flush=True)
            del one
