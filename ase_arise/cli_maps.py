"""The ``arise spm`` command: strided-pattern-matching maps of frames as .npz plus PNG slices
of a plane of the scan grid, one set per frame (the parser is
:func:`ase_arise.cli.build_parser`'s)."""

import re

import numpy as np

from .cli_frames import completed_frames, frame_numbers
from .errors import InputError
from .io import atomic_output, check_output_path, open_trajectory
from .prototypes import class_indices


def spm_command(args, extra, settings):
    output = check_output_path(args.output, inputs=[args.file])
    if output.suffix != ".npz":
        raise InputError(f"The output of 'arise spm' is a NumPy .npz file; got {output}. Name "
                         "it OUT.npz.")
    known = settings.network.class_names  # a fine-tuned model has its own classes
    names = [known[k] for k in class_indices(args.prototypes, known, parameter="--prototypes")]
    trajectory = open_trajectory(args.file)
    numbers = frame_numbers(trajectory, args.frames, args.file)
    width = len(str(numbers[-1] if numbers.step > 0 else numbers[0]))
    failed = []
    for k, maps in completed_frames(args, "spm", trajectory, numbers, settings, failed.append,
                                    single=len(numbers) == 1, work="spm"):
        path = output if len(numbers) == 1 else \
            output.with_name(f"{output.stem}_frame{k:0{width}d}.npz")
        if len(numbers) > 1:
            print(f"frame {k}:")
        _save(maps, path, args, k, names)
    if failed:
        raise InputError(f"frame(s) {', '.join(map(str, failed))} failed (messages above); "
                         "the other frames are written.")
    return 0


def _save(maps, output, args, frame, names):
    """Write one frame's maps (.npz, PNG slices) and print their summary."""
    plane = None if args.no_png else plane_of(maps, args.axis, args.index)  # before any writing
    record = dict(file=str(args.file), frame=frame, box=maps.box, stride=maps.stride,
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
