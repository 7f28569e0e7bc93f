"""Many structures and the frames of a trajectory on a Dask cluster (``client=``, a
``dask.distributed.Client``: a LocalCluster on a laptop, dask-jobqueue on SLURM/PBS).

Dask schedules; arise only cuts the work into tasks of plain, picklable arguments. The model
reaches each worker as its path: a worker loads and verifies it once and keeps it
(:func:`ase_arise.model.resolve_model`'s cache), it is never pickled per task. Results are
those of one process, bit for bit, for a fixed seed: a structure's descriptor and its dropout
masks depend on nothing else in its batch. Needs the ``dask`` extra
(``pip install "arise[dask]"``).
"""

import numbers
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from tqdm.auto import tqdm

from ._random import check_random_state
from .errors import InputError, InputTypeError

# Structures per classify task (a few seconds of work on one core).
CLASSIFY_BATCH = 256


def check_client(client):
    """``client`` if it is a ``dask.distributed.Client``; InputError without Dask, TypeError
    for anything else."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("client= needs Dask's distributed scheduler, which is not installed: "
                         "pip install \"arise[dask]\" (or pip install \"dask[distributed]\")."
                         ) from None
    if not isinstance(client, Client):
        raise InputTypeError("The 'client' parameter must be a dask.distributed.Client (e.g. "
                             f"Client(LocalCluster())). Got {type(client).__name__} instead.")
    return client


@contextmanager
def local_cluster(n_workers, threads_per_worker, cards=None):
    """A ``Client`` of a LocalCluster of ``n_workers`` processes x ``threads_per_worker``
    threads (a context manager), its workers' statistical profiler off: it samples the task
    thread every 10 ms, and on 16 workers x 1 thread it cost 8 % of the frames' throughput
    (docs/DECISIONS.md). For a cluster started elsewhere, set
    ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` in the workers' environment.

    ``cards`` (CUDA card numbers): one worker per card instead (``n_workers`` is ignored),
    each seeing only its own card (``CUDA_VISIBLE_DEVICES``), where ``device="cuda"`` is
    that card."""
    import dask
    from distributed import Client, LocalCluster, Nanny, Scheduler, SpecCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        if cards is None:
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                   processes=True, dashboard_address=None)
        else:
            # no dashboards; the scheduler's HTTP routes on a free port
            quiet = dict(host="127.0.0.1", dashboard=False, dashboard_address=":0")
            cluster = SpecCluster(
                scheduler={"cls": Scheduler, "options": dict(quiet, port=0)},
                workers={f"cuda-{card}": {"cls": Nanny, "options": dict(
                    quiet, nthreads=threads_per_worker,
                    env={"CUDA_VISIBLE_DEVICES": str(card)})} for card in cards})
        with cluster, Client(cluster) as client:
            yield client


def shared_seed(random_state):
    """One integer seed for every task (a Generator is drawn from once), or None."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    return int(check_random_state(random_state).integers(2 ** 63))


def task_fields(settings):
    """The fields of ``settings`` as tasks take them (``Settings(**fields)`` on a worker):
    the model as a path (:func:`model_reference`), the seed as :func:`shared_seed`."""
    fields = {name: getattr(settings, name) for name in type(settings).fields()}
    fields["model"] = model_reference(settings.network)
    fields["random_state"] = shared_seed(settings.random_state)
    return fields


def model_reference(model):
    """What a worker loads the model from: None (the shipped one) or the model's path."""
    from .model import ARISEModel

    return model.path if isinstance(model, ARISEModel) else model


def classify_on(client, structures, options, batch_size=CLASSIFY_BATCH, progress=False):
    """:func:`ase_arise.classify` of ``structures`` in tasks of ``batch_size``, results in
    input order; ``options`` are classify's keyword arguments (model as a path or None).
    A list's batches travel with their tasks; a trajectory
    (:func:`ase_arise.io.open_trajectory`) reaches each worker once and the workers read
    their own structures of it. ``progress``: a tqdm bar of the structures done."""
    from .io.trajectory import LoadedFrames

    if isinstance(structures, LoadedFrames):
        structures = structures.frames
    starts = range(0, len(structures), batch_size)
    if isinstance(structures, list):
        tasks = {i: (_classify_batch, structures[i:i + batch_size], options, i) for i in starts}
    else:
        source = client.scatter([structures], broadcast=True, hash=False)[0]
        tasks = {i: (_classify_batch, source, options, i, i + batch_size) for i in starts}
    done = {}
    with tqdm(total=len(structures), desc="ARISE classification on the cluster",
              unit="structure", disable=not progress) as bar:
        for i, future in in_flight(client, tasks):
            done[i] = future.result()
            bar.update(len(done[i]))
    return [result for i in starts for result in done[i]]


def in_flight(client, tasks):
    """Submit ``tasks`` ({key: (function, *arguments)}, in order) with at most one per worker
    thread waiting or running, the next as each completes; yields (key, future) as they
    complete.

    Handing every task to the scheduler at once let it place them by its first duration
    guesses: measured on 16 workers, 64 equal 10^5-atom frames took 5.9 frame-times instead
    of 4 (docs/DECISIONS.md); one task per free thread keeps the workers evenly busy.
    """
    from distributed import as_completed

    slots = max(1, sum(client.nthreads().values()))
    keys = iter(tasks)
    futures = {}

    def submit():
        key = next(keys, None)
        if key is not None:
            function, *arguments = tasks[key]
            future = client.submit(function, *arguments, pure=False)
            futures[future] = key
            return future
        return None

    queue = as_completed([f for f in (submit() for _ in range(slots)) if f is not None])
    for future in queue:
        following = submit()
        if following is not None:
            queue.add(following)
        yield futures.pop(future), future


def worker_threads():
    """Numba's threads on a worker: the worker's own thread count, so that workers x threads
    = cores (Dask's nanny already gives BLAS one thread per worker)."""
    import numba

    try:
        from distributed import get_worker
        threads = get_worker().state.nthreads
    except (ImportError, ValueError):  # not on a Dask worker
        return
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _classify_batch(structures, options, start, stop=None):
    """Classify ``structures`` (numbered from ``start``), or ``structures[start:stop]``."""
    from .classify import classify
    from .errors import AriseError

    worker_threads()
    if stop is not None:
        structures = structures[start:stop]
    try:
        return classify(structures, **options)
    except AriseError as error:  # its structure numbers count within the batch
        raise type(error)(f"In structures {start}-{start + len(structures) - 1} (numbered "
                          f"from 0 in what follows): {error}") from None


def frame_results(trajectory, numbers, settings, *, work="label", probabilities=False,
                  client=None, progress=False) -> Iterator:
    """Label (or scan) frames of a trajectory, one process or Dask's workers, in frame order.

    Parameters
    ----------
    trajectory : sequence of ase.Atoms
        Frames read on demand (:func:`ase_arise.io.open_trajectory`): with a client each worker
        reads its own frames (the sequence is pickled, not the frames), except for a list of
        Atoms in memory.
    numbers : sequence of int
        The frames to do, by their number in ``trajectory``.
    settings : Settings
        Its model travels as a path; a Generator seed is drawn once for all frames.
    work : {"label", "spm"}, default="label"
        :func:`ase_arise.label` (an AtomLabels per frame) or :func:`ase_arise.spm` (an
        SPMResult per frame).
    probabilities : bool, default=False
        With "label": also the per-atom probabilities.
    client : dask.distributed.Client, optional
        Run on its workers (as they complete, yielded in order); None: here, one by one.
    progress : bool, default=False
        A tqdm bar: each frame's boxes here, the frames done with a client.

    Yields
    ------
    (int, AtomLabels or SPMResult or AriseError)
        The frame number and its result; a frame whose input is rejected (an
        :class:`~ase_arise.errors.AriseError`, e.g. an unreadable frame) yields the error
        instead, and the other frames go on.
    """
    from .errors import AriseError
    from .io.trajectory import LoadedFrames

    fields = task_fields(settings)
    if client is None:
        for k in numbers:
            try:
                yield k, _frame_result(trajectory, k, fields, work, probabilities, progress)
            except AriseError as error:
                yield k, error
        return
    check_client(client)
    if len(numbers) == 1 and not settings.per_atom and settings.device == "cpu":
        # one frame: split into spatial domains (a tilted cell's frame is one task)
        yield _one_frame(client, trajectory, numbers[0],
                         settings.replace(random_state=fields["random_state"]), work,
                         probabilities, progress)
        return
    if isinstance(trajectory, (list, LoadedFrames)):  # in memory: a task carries its frame
        tasks = {k: (_frame_result, [trajectory[k]], 0, fields, work, probabilities)
                 for k in numbers}
    else:
        # the trajectory (a path and offsets) once to each worker, not with every task
        source = client.scatter([trajectory], broadcast=True, hash=False)[0]
        tasks = {k: (_frame_result, source, k, fields, work, probabilities) for k in numbers}
    ready, order = {}, iter(numbers)
    following = next(order, None)
    with tqdm(total=len(tasks), desc=f"ARISE {work}: frames on the cluster", unit="frame",
              disable=not progress) as bar:
        for k, future in in_flight(client, tasks):
            bar.update()
            ready[k] = future
            while following in ready:
                future = ready.pop(following)
                try:
                    yield following, future.result()
                except AriseError as error:
                    yield following, error
                following = next(order, None)


def _one_frame(client, trajectory, k, settings, work, probabilities, progress):
    """(k, result or AriseError) of frame ``k`` in spatial domains (:mod:`.spm.domains`),
    or as one task where its cell is tilted."""
    from ase.geometry import complete_cell

    from .errors import AriseError
    from .labels import atom_labels
    from .spm.domains import label_box_index, spm_on

    try:
        atoms = trajectory[k]
        cell = complete_cell(atoms.cell)
        if np.count_nonzero(cell - np.diag(np.diag(cell))):
            return k, client.submit(_frame_result, [atoms], 0, task_fields(settings), work,
                                    probabilities, pure=False).result()
        sample, result = spm_on(client, atoms, settings, progress=progress)
        if work == "spm":
            return k, result
        return k, atom_labels(atoms, result, label_box_index(client, sample, result),
                              probabilities)
    except AriseError as error:
        return k, error


def _frame_result(trajectory, k, fields, work, probabilities, progress=False):
    from .labels import iter_label
    from .settings import Settings
    from .spm import iter_spm, run_steps

    worker_threads()
    atoms, settings = trajectory[k], Settings(**fields)
    steps = (iter_label(atoms, settings, probabilities=probabilities) if work == "label"
             else iter_spm(atoms, settings))
    return run_steps(steps, progress)
