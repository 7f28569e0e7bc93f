"""The ``arise classify`` and ``arise label`` commands: every structure or frame of files, on
this process or a Dask cluster (``--workers`` / ``--scheduler``), in input order (the parser is
:func:`ase_arise.cli.build_parser`'s)."""

import csv
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from .classify import classify
from .device import check_device, cuda_module
from .distributed import frame_results, local_cluster
from .errors import AriseError, InputError, one_line
from .io import FrameWriter, atomic_output, check_output_path, open_trajectory, output_format
from .io.write import check_frame
from .labels import ARRAY_PROBABILITIES, ARRAYS

# Formats of the classify table (--output), by suffix.
TABLES = {".csv": "csv", ".json": "json"}


@contextmanager
def cluster(args):
    """(the Dask client of --workers / --scheduler or None, the device its tasks use).

    With ``--device cuda`` and ``--workers N`` the cluster has one worker per card 0..N-1
    (``--device cuda:K``: one worker on card K), each seeing only its card, "cuda:0" there.
    """
    if args.workers is None and args.scheduler is None:
        yield None, args.device
        return
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--workers and --scheduler need Dask: pip install \"arise[dask]\"."
                         ) from None
    if args.scheduler is not None:
        with Client(args.scheduler) as client:
            yield client, args.device
        return
    if args.workers < 1:
        raise InputError(f"--workers must be 1 or more; got {args.workers}.")
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    device = check_device(args.device)
    if device == "cpu":
        with local_cluster(args.workers, threads) as client:
            yield client, device
        return
    if args.workers > 1 and args.device != "cuda":
        raise InputError(f"--device {args.device} names one card; for one worker per card "
                         f"give --device cuda --workers N (cards 0 to N-1).")
    cards = [int(device.split(":")[1])] if args.workers == 1 else list(range(args.workers))
    cuda_module(f"cuda:{max(cards)}")  # the cards exist (InputError: what to install or fix)
    with local_cluster(len(cards), threads, cards=cards) as client:
        yield client, "cuda:0"


def frame_numbers(trajectory, frames, path):
    """The file's numbers of the frames that the slice ``frames`` selects (InputError: none)."""
    numbers = range(len(trajectory))[frames]
    if not numbers:
        raise InputError(f"--frames selects none of the {len(trajectory)} frame(s) of {path}.")
    return numbers


def completed_frames(args, command, trajectory, numbers, settings, failed, *, single,
                     **options):
    """(frame number, result) of each of the frames ``numbers`` that completes, in order, on
    this process or the cluster of ``args`` (:func:`ase_arise.distributed.frame_results`
    with ``options``). A frame that fails is told on stderr and passed to ``failed``; with
    ``single`` (one frame selected) its error is the command's."""
    with cluster(args) as (client, device):
        for k, result in frame_results(trajectory, numbers, settings.replace(device=device),
                                       client=client, progress=not args.no_progress,
                                       **options):
            if not isinstance(result, AriseError):
                yield k, result
            elif single:
                raise result
            else:
                print(f"arise {command}: error: frame {k}: {one_line(result)}",
                      file=sys.stderr)
                failed(k)


def classify_command(args, extra):
    table = None
    if args.output is not None:
        table = TABLES.get(Path(args.output).suffix.lower())
        if table is None:
            raise InputError(f"The table of 'arise classify' is .csv or .json; got "
                             f"{args.output}.")
        check_output_path(args.output, inputs=args.files)
    rows = []
    with cluster(args) as (client, device):
        for path in args.files:
            # a path: every frame, a list (with a client, the workers read the frames)
            results = classify(path, model=args.model, n_samples=args.n_samples,
                               top_k=args.top_k, min_anisotropy=args.min_anisotropy,
                               device=device, random_state=args.random_state,
                               progress=not args.no_progress, client=client)
            rows += [(path if len(results) == 1 else f"{path}[{i}]", result)
                     for i, result in enumerate(results)]
    width = max(len("structure"), *(len(name) for name, _ in rows))
    print(f"{'structure':{width}s}  {'atoms':>7s}  {'MI (bit)':>8s}  {'class':>8s}  "
          f"{'anisotropy':>10s}  top-{args.top_k} prototypes (probability)")
    for name, result in rows:
        ranked = ", ".join(f"{prototype} ({p:.3f})" for prototype, p in result.top_k)
        print(f"{name:{width}s}  {result.n_atoms:7d}  {result.mutual_information:8.3f}  "
              f"{result.name:>8s}  {result.anisotropy:10.4f}  {ranked}")
    if table is not None:
        write_table(args.output, rows, table)
        print(f"wrote {args.output}")
    return 0


def write_table(path, rows, table):
    """The classify table as CSV (one row per structure; top-k as prototype_1, probability_1,
    ...) or JSON (a list of records, top_k as [prototype, probability] pairs), atomically.
    Probabilities as fractions, mutual information and entropy in bits."""
    records = [dict(structure=name, atoms=r.n_atoms, **{"class": r.name}, prototype=r.prototype,
                    probability=r.probability, mutual_information=r.mutual_information,
                    entropy=r.entropy, anisotropy=r.anisotropy, other=r.other,
                    n_samples=r.n_samples) for name, r in rows]
    with atomic_output(path, encoding="utf-8", newline="" if table == "csv" else None) as handle:
        if table == "json":
            for record, (_, r) in zip(records, rows):
                record["top_k"] = [list(pair) for pair in r.top_k]
            json.dump(records, handle, indent=1)
            handle.write("\n")
            return
        for record, (_, r) in zip(records, rows):
            for k, (prototype, p) in enumerate(r.top_k, start=1):
                record[f"prototype_{k}"], record[f"probability_{k}"] = prototype, p
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)


def label_command(args, extra, settings):
    output = check_output_path(args.output, inputs=[args.file])
    format = output_format(output, args.format)  # a bad output name fails before the work
    trajectory = open_trajectory(args.file)
    numbers = frame_numbers(trajectory, args.frames, args.file)
    check_frame(trajectory[numbers[0]], format)  # a format that cannot hold it: before the work
    columns = list(ARRAYS) + ([ARRAY_PROBABILITIES] if args.probabilities else [])
    writer = FrameWriter(output, columns, run_key(args, settings, columns, format),
                         format=format)
    if writer.done:
        print(f"resuming {writer.partial}: {writer.done} of {len(numbers)} frame(s) already done")
    for k, result in completed_frames(args, "label", trajectory, numbers[writer.done:],
                                      settings, writer.skip, single=len(numbers) == 1,
                                      probabilities=args.probabilities):
        result.atoms.info["frame"] = k  # the file's frame number
        writer.write(result.atoms, step=k)  # in frame order, as the frames complete
        counts = ", ".join(f"{name} {n}" for name, n in result.counts().items())
        print(f"frame {k}: {len(result.atoms)} atoms, {result.spm.mode} mode, "
              f"{len(result.spm.centres)} boxes; atoms per prototype: {counts}")
    if len(writer.failed) == len(numbers):
        raise InputError(f"Every frame failed ({_listed(writer.failed)}): nothing to write.")
    writer.close()
    written = len(numbers) - len(writer.failed)
    print(f"wrote {output} ({written} frame{'s' if written > 1 else ''})")
    if writer.failed:
        print(f"arise label: error: frame(s) {_listed(writer.failed)} failed (messages above) "
              f"and are not in {output}", file=sys.stderr)
        return 1
    return 0


def _listed(numbers):
    return ", ".join(map(str, numbers[:20])) + (", ..." if len(numbers) > 20 else "")


def run_key(args, settings, columns, format):
    """What a resumed ``arise label`` must share with the run it continues: the input file (path,
    size, modification time), the settings, the columns and the format. A run with
    ``random_state`` None never resumes (its passes are not reproducible)."""
    source = Path(args.file).resolve()
    stat = source.stat()
    return dict(input=str(source), size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                frames=repr(args.frames), settings=repr(settings), columns=list(columns),
                format=format,
                reproducible=settings.random_state is not None or os.urandom(8).hex())
