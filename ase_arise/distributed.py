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


def shared_seed(random_state):
    """One integer seed for every task (a Generator is drawn from once), or None."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    return int(check_random_state(random_state).integers(2 ** 63))


def model_reference(model):
    """What a worker loads the model from: None (the shipped one) or the model's path."""
    from .model import ARISEModel

    return model.path if isinstance(model, ARISEModel) else model


def classify_on(client, structures, options, batch_size=CLASSIFY_BATCH):
    """:func:`ase_arise.classify` of ``structures`` in tasks of ``batch_size``, results in
    input order; ``options`` are classify's keyword arguments (model as a path or None)."""
    batches = [structures[i:i + batch_size] for i in range(0, len(structures), batch_size)]
    futures = client.map(_classify_batch, batches, options=options, pure=False)
    return [result for part in client.gather(futures) for result in part]


def _worker_threads():
    """Numba's threads on a worker: the worker's own thread count, so that workers x threads
    = cores (Dask's nanny already gives BLAS one thread per worker)."""
    import numba
    from distributed import get_worker

    numba.set_num_threads(max(1, min(get_worker().state.nthreads,
                                     numba.config.NUMBA_NUM_THREADS)))


def _classify_batch(structures, options):
    from .classify import classify

    _worker_threads()
    return classify(structures, **options)


def label_frames(frames, *, client, settings, probabilities=False) -> Iterator:
    """Per-atom labels of every frame on the workers, yielded in frame order as they complete.

    Parameters
    ----------
    frames : sequence of ase.Atoms
    client : dask.distributed.Client
    settings : Settings
        Its model travels as a path; a Generator seed is drawn once for all frames.
    probabilities : bool, default=False
        Also the per-atom probabilities (:func:`ase_arise.label`).

    Yields
    ------
    (int, AtomLabels)
        The frame number and its labels (``labels.atoms`` a copy of the frame with the arrays).
    """
    from distributed import as_completed

    check_client(client)
    fields = {name: getattr(settings, name) for name in type(settings).fields()}
    fields["model"] = model_reference(settings.network)
    fields["random_state"] = shared_seed(settings.random_state)
    futures = {client.submit(_label_frame, atoms, fields, probabilities, pure=False): k
               for k, atoms in enumerate(frames)}
    ready, following = {}, 0
    for future in as_completed(futures):
        ready[futures[future]] = future
        while following in ready:
            yield following, ready.pop(following).result()
            following += 1


def _label_frame(atoms, fields, probabilities):
    from .labels import iter_label
    from .settings import Settings
    from .spm import run_steps

    _worker_threads()
    return run_steps(iter_label(atoms, Settings(**fields), probabilities=probabilities), False)
