"""The ``arise spm`` command: strided-pattern-matching maps of one frame as .npz plus PNG
slices of a plane of the scan grid (the parser is :func:`ase_arise.cli.build_parser`'s)."""

import re

import numpy as np

from .errors import InputError
from .io import atomic_output, check_output_path, read_frames
from .prototypes import class_indices
from .spm import iter_spm, run_steps


def spm_command(args, extra, settings):
    output = check_output_path(args.output, inputs=[args.file])
    if output.suffix != ".npz":
        raise InputError(f"The output of 'arise spm' is a NumPy .npz file; got {output}. Name "
                         "it OUT.npz.")
    known = settings.network.class_names  # a fine-tuned model has its own classes
    names = [known[k] for k in class_indices(args.prototypes, known, parameter="--prototypes")]
    frames = read_frames(args.file)
    if not -len(frames) <= args.frame < len(frames):
        raise InputError(f"--frame {args.frame} is out of range: {args.file} has "
                         f"{len(frames)} frame(s).")
    maps = run_steps(iter_spm(frames[args.frame], settings), progress=not args.no_progress)
    plane = None if args.no_png else plane_of(maps, args.axis, args.index)  # before any writing
    record = dict(file=str(args.file), frame=args.frame, box=maps.box, stride=maps.stride,
                  mode=maps.mode, n_samples=maps.n_samples, tolerance=maps.tolerance,
                  min_atoms=maps.min_atoms, min_anisotropy=maps.min_anisotropy,
                  random_state=args.random_state, model=args.model or "shipped",
                  units="Å; probabilities as fractions; mutual_information, entropy, "
                        "disorder and uncertainty in bits")
    with atomic_output(output, "wb") as handle:
        maps.save(handle, record)
    valid = maps.valid
    print(f"{len(maps.centres)} boxes on a {' x '.join(map(str, maps.shape))} grid "
          f"({maps.mode} mode), {int(valid.sum())} with a prediction")
    winners, counts = np.unique(maps.class_id[valid], return_counts=True)
    for k in np.argsort(-counts):
        print(f"  {maps.name_of(winners[k]):24s} {counts[k] / valid.sum():6.1%} of the boxes")
    print(f"mutual information: median {np.nanmedian(maps.mutual_information):.3f} bit, "
          f"max {np.nanmax(maps.mutual_information):.3f} bit" if valid.any() else
          "no box holds enough atoms for a prediction")
    for path in [output] + ([] if plane is None else plot_slices(maps, output, names, *plane)):
        print(f"wrote {path}")
    return 0


def plane_of(maps, axis, index):
    """The (axis, index) of the drawn plane, checked against the scan grid."""
    if len(maps.shape) != 3:
        raise InputError("PNG slices need a scan grid; give --no-png.")
    if axis is None:
        axis = max(k for k in range(3) if maps.shape[k] == min(maps.shape))
    if index is not None and not 0 <= index < maps.shape[axis]:
        raise InputError(f"--index {index} is out of range: the scan has {maps.shape[axis]} "
                         f"plane(s) along axis {axis}.")
    return axis, index


def plot_slices(maps, output, names, axis, index):
    """Save one PNG per quantity of a plane of the scan grid; returns their paths."""
    from matplotlib.figure import Figure

    paths = []
    fixed = ["class", "uncertainty", "mutual_information", "anisotropy"]
    for quantity in fixed + names:
        suffix = quantity if quantity in fixed else (
            "P_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", quantity).strip("_"))
        figure = Figure(figsize=(6.4, 5.2))
        maps.plot_slice(quantity, axis=axis, index=index, ax=figure.add_subplot())
        path = output.with_name(f"{output.stem}_{suffix}.png")
        with atomic_output(path, "wb") as handle:
            figure.savefig(handle, dpi=100, format="png")
        paths.append(path)
    return paths
