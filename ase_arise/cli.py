"""The ``arise`` command line.

    arise classify FILE...         the most similar prototypes of every structure (every frame)
    arise label FILE -o OUT        per-atom prototypes, probabilities and uncertainty, written
                                   as extended XYZ or a LAMMPS dump (OVITO reads both)
    arise spm FILE -o OUT.npz      strided-pattern-matching maps (.npz) and PNG slices
    arise benchmark ...            ARISE vs PTM, CNA, a-CNA, BAA, spglib (needs OVITO)
    arise prototypes               the 108 classes

Units: lengths in Å, probabilities as fractions (0-1), mutual information and entropy in bits
(log2; at most log2 108 = 6.75). Files are read by ASE (every frame), or by OVITO when ASE
cannot and OVITO is installed. A problem with the input ends the command with one line on
stderr and exit status 1 (2 for a malformed command line); warnings are single lines too.
Options have the names of the Python parameters (``--box`` is ``box``, ``--random-state`` is
``random_state``; :data:`CLI_ONLY` lists the options that exist here only).
"""

import argparse
import os
import sys
import warnings
from importlib.metadata import entry_points

from .cli_frames import classify_command, label_command
from .cli_maps import spm_command
from .errors import AriseError, InputError, one_line
from .io import FORMATS
from .io.read import READER_HINTS
from .labels import (ARRAY_ANISOTROPY, ARRAY_CLASS, ARRAY_MUTUAL_INFORMATION, ARRAY_OTHER,
                     ARRAY_PROBABILITIES, ARRAY_PROBABILITY, ARRAY_PROTOTYPE, ARRAY_UNCERTAINTY)
from .prototypes import load_prototypes
from .settings import MODES, Settings

# Entry-point group of commands that other packages add (ovito_arise: "benchmark").
COMMANDS_GROUP = "arise.commands"
# Options that exist on the command line only (files, output, display), not in Settings.
CLI_ONLY = ("files", "file", "output", "format", "top_k", "probabilities", "frame", "frames",
            "prototypes", "axis", "index", "no_png", "no_progress", "workers", "scheduler")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_model_options(parser):
    parser.add_argument("--n-samples", type=int, default=None, metavar="T",
                        help="Monte-Carlo dropout passes (default: the model's own, 100 for "
                             "the shipped model)")
    parser.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                        metavar="SEED",
                        help="seed of the dropout masks: the same seed gives the same results "
                             "(default: 0; --seed is its old name)")
    parser.add_argument("--model", default=None, metavar="ONNX",
                        help="an .onnx model with its .json beside it (default: the shipped "
                             "108-prototype model)")
    parser.add_argument("--min-anisotropy", type=float, default=None, metavar="A",
                        help="'Other' below this anisotropy (share of the averaged SOAP power "
                             "in l >= 1: ~0.01 for liquids and glasses, >= 0.14 for crystals; "
                             "default: the model's calibrated threshold; 0: never Other)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N: "
                        "where the descriptor and the network run (GPU: the gpu extra)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _add_cluster_options(parser):
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run on a local Dask cluster of N worker processes, cores / N "
                             "threads each (the dask extra)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on a running Dask cluster, e.g. tcp://host:8786")


def _add_file_and_output(parser, metavar, help):
    parser.add_argument("file", metavar="FILE", help="structure file (positions in Å)")
    parser.add_argument("-o", "--output", required=True, metavar=metavar, help=help)


def _add_scan_options(parser):
    parser.add_argument("--box", type=float, default=16.0,
                        help="edge of the cubic SPM box, Å (default: 16, the paper's; a box "
                             "should hold >= 100 atoms)")
    parser.add_argument("--stride", type=float, default=4.0,
                        help="step between box centres, Å (default: 4; the paper used 1 for "
                             "slabs, 2-3 for bulk)")
    parser.add_argument("--mode", choices=MODES, default="auto",
                        help="box descriptors: 'exact' cuts each box out as a cluster (the "
                             "paper's way), 'fast' sums per-atom coefficients (8x faster), "
                             "'auto' takes fast for samples periodic along x, y and z "
                             "(default: auto)")
    parser.add_argument("--tolerance", type=float, default=0.01,
                        help="adaptive MC-dropout sampling: a box stops once 10 more passes "
                             "move its probabilities and MI (bits) by less than this; 0: every "
                             "box gets all passes (default: 0.01)")
    parser.add_argument("--min-atoms", type=int, default=50,
                        help="boxes with fewer atoms get no prediction (default: 50)")
    parser.add_argument("--axes", type=_axes, default=None, metavar="AXES",
                        help="cell axes to scan, comma-separated, e.g. 0,1 (default: every "
                             "periodic axis and every open axis at least one box long)")


def build_parser():
    """The argument parser of ``arise`` (subcommands classify, label, spm, benchmark,
    prototypes)."""
    parser = _Parser(prog="arise", description="Robust crystal-structure recognition for "
                     "structure files: the most similar of 108 prototypes, with probabilities "
                     "and an uncertainty, per structure or per atom (ARISE; Leitherer, Ziletti "
                     "& Ghiringhelli, Nature Communications 12, 6234, 2021).",
                     epilog="Lengths in Å, probabilities as fractions 0-1, mutual information "
                            "(uncertainty) in bits. 'arise COMMAND --help' for each command.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    sub = _command(commands, classify_command,
        "classify", help="most similar prototypes of every structure",
        description="Classify whole structures (every frame of a trajectory): the top-k of the "
                    "108 prototypes with their probabilities (fractions, mean of the "
                    "Monte-Carlo dropout passes) and the mutual information (bits; 0 = "
                    "certain, 6.75 at most). Any lattice constant and size: structures are "
                    "scaled by their own nearest-neighbour distance; periodicity from the file.")
    sub.add_argument("files", nargs="+", metavar="FILE",
                     help="structure files (anything ASE reads; OVITO's formats with OVITO)")
    sub.add_argument("--top-k", type=int, default=3, metavar="K",
                     help="prototypes listed per structure (default: 3)")
    sub.add_argument("-o", "--output", default=None, metavar="TABLE",
                     help="also write the table as .csv (top-k as prototype_1, probability_1, "
                          "...) or .json (a list of records)")
    _add_model_options(sub)
    _add_cluster_options(sub)

    sub = _command(commands, lambda args, extra: label_command(args, extra, settings_from(args)),
        "label", help="per-atom prototypes written to extended XYZ or a LAMMPS dump",
        description="Label every atom by strided pattern matching: cubic boxes of edge --box "
                    "(Å) every --stride (Å) are classified, and each atom takes the result of "
                    "the box containing it that is near, certain and ordered (lowest distance "
                    "/ half box + 2 MI - 3 ln(anisotropy); Other decided without the last "
                    f"term). Writes the structure with the columns {ARRAY_CLASS} (class id, "
                    "-2: Other, -1: no prediction; 'arise prototypes' lists them), "
                    f"{ARRAY_PROTOTYPE} (most probable, also of Other atoms), {ARRAY_OTHER}, "
                    f"{ARRAY_ANISOTROPY} (the Other score), {ARRAY_PROBABILITY} (fraction), "
                    f"{ARRAY_MUTUAL_INFORMATION} and {ARRAY_UNCERTAINTY} (MI + disorder; bits), "
                    f"with --probabilities {ARRAY_PROBABILITIES} (by class id). Every frame of "
                    "a trajectory is labelled.")
    _add_file_and_output(sub, "OUT", "output file: .xyz/.extxyz (extended XYZ) or "
                         ".dump/.lammpstrj (LAMMPS text dump); OVITO reads both")
    sub.add_argument("--format", choices=list(FORMATS), default=None,
                     help="output format (default: from the suffix of OUT)")
    _add_scan_options(sub)
    sub.add_argument("--per-atom", action="store_true",
                     help="centre one box on every atom instead of the grid (--stride unused; "
                          "one box per atom: slow)")
    sub.add_argument("--probabilities", action="store_true",
                     help="also write all 108 probabilities per atom")
    sub.add_argument("--frames", type=_frames, default=slice(None), metavar="START:STOP:STEP",
                     help="the frames to label, as a Python slice (default: all); a frame "
                          "that fails is reported by number and left out, the rest completes")
    _add_model_options(sub)
    _add_cluster_options(sub)

    sub = _command(commands, lambda args, extra: spm_command(args, extra, settings_from(args)),
        "spm", help="strided-pattern-matching maps as .npz plus PNG slices",
        description="Strided pattern matching: classify cubic boxes of edge --box (Å) every "
                    "--stride (Å) over the sample (a 2D scan for slabs, 3D for bulk). Saves "
                    "the maps as .npz (centres in Å, shape, probabilities as fractions, "
                    "mutual_information, entropy, disorder and uncertainty in bits, n_atoms, "
                    "class_names, class_id (-2: Other, -1: no prediction), anisotropy, "
                    "settings as JSON) and PNG slices of the class, the uncertainty, the MI, "
                    "the anisotropy and the probability of each of --prototypes.")
    _add_file_and_output(sub, "OUT.npz", "the .npz file; PNGs beside it: OUT_class.png, "
                         "OUT_uncertainty.png, OUT_mutual_information.png, "
                         "OUT_anisotropy.png, OUT_P_<prototype>.png")
    sub.add_argument("--frames", type=_frames, default=slice(0, 1), metavar="START:STOP:STEP",
                     help="the frames to scan, as a Python slice (default: 0, the first; -1: "
                          "the last); several frames write OUT_frame<K>.npz each")
    sub.add_argument("--frame", type=_frame, dest="frames", help=argparse.SUPPRESS)
    _add_scan_options(sub)
    sub.add_argument("--prototypes", default="", metavar="NAMES",
                     help="comma-separated prototypes whose probability maps are drawn, e.g. "
                          "fcc,bcc,hcp,diamond ('arise prototypes' lists the names)")
    sub.add_argument("--axis", type=int, choices=(0, 1, 2), default=None,
                     help="cell axis normal to the drawn plane (default: the axis with the "
                          "fewest boxes, the last of equals)")
    sub.add_argument("--index", type=int, default=None,
                     help="plane along --axis, counted in boxes (default: the middle one)")
    sub.add_argument("--no-png", action="store_true", help="write the .npz only")
    _add_model_options(sub)
    _add_cluster_options(sub)

    sub = _command(commands, _benchmark,
        "benchmark", add_help=False, help="ARISE vs OVITO's PTM, CNA, a-CNA, BAA and spglib",
        description="Runs python -m ovito_arise.benchmarks.protocol with the remaining arguments "
                    "('arise benchmark --help' shows them). Needs OVITO.")

    sub = _command(commands, _prototypes,
        "prototypes", help="the 108 classes: id, name, material type, space group",
        description="List the 108 prototypes ARISE knows, in the model's output order: class "
                    "id, name, material type and international space-group number ('-' where "
                    "the paper gives none).")
    return parser


def _command(commands, run, name, **options):
    """A subcommand ``name`` that runs ``run(args, extra)`` (``options``: add_parser's)."""
    sub = commands.add_parser(name, **options)
    sub.set_defaults(run=run, parser=sub)
    return sub


def main(argv=None):
    """Run ``arise`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command != "benchmark":
            args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as stop:  # --help, or a malformed command line (message printed)
        return 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
    prefix = f"arise {args.command}"
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, *_, **__: print(
            f"{prefix}: warning: {one_line(message)}", file=sys.stderr)
        try:
            return args.run(args, extra)
        except BrokenPipeError:  # the reader of stdout has gone (arise prototypes | head)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except (AriseError, OSError) as error:
            print(f"{prefix}: error: {one_line(error)}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted", file=sys.stderr)
            return 130


def settings_from(args):
    """The :class:`Settings` of a ``label`` or ``spm`` command line (validated here, before any
    file is read)."""
    return Settings(box=args.box, stride=args.stride, mode=args.mode,
                    per_atom=getattr(args, "per_atom", False), axes=args.axes,
                    n_samples=args.n_samples, tolerance=args.tolerance or None,
                    min_atoms=args.min_atoms, min_anisotropy=args.min_anisotropy,
                    random_state=args.random_state, model=args.model, device=args.device)


def _frames(text):
    """``--frames 10:100:5`` -> slice(10, 100, 5)."""
    try:
        parts = [int(p) if p.strip() else None for p in text.split(":")]
        if len(parts) > 3 or parts[2:3] == [0] or parts == [None]:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP:STEP (a Python slice with a "
                                         f"non-zero step), e.g. 0:100:10; got {text!r}") from None
    if len(parts) == 1:  # one frame, K (negative: from the end)
        return slice(parts[0], parts[0] + 1 or None)
    return slice(*parts)


def _frame(text):
    """The old ``--frame K`` (until 0.3.0): ``--frames K``."""
    print(f"arise spm: warning: --frame is renamed --frames (a slice; --frames {text} is this "
          "frame); --frame will be removed in 0.3.0.", file=sys.stderr)
    return _frames(text)


def _axes(text):
    """``--axes 0,1`` -> (0, 1)."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected cell axes such as 0,1; got {text!r}") \
            from None


def _benchmark(args, extra):
    """Run the benchmark command that ``ovito_arise`` registers (entry-point group
    ``arise.commands``, name "benchmark"): the harness needs OVITO, which ase_arise never
    imports."""
    found = [e for e in entry_points(group=COMMANDS_GROUP) if e.name == "benchmark"]
    if not found:
        raise InputError("arise benchmark is provided by ovito_arise, which this installation "
                         "lacks; reinstall arise-crystal-recognition.")
    try:
        benchmark_main = found[0].load()
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] == "ovito":
            raise InputError(f"arise benchmark runs OVITO's PTM, CNA and BAA, but OVITO is not "
                             f"installed: {READER_HINTS['ovito']}.") from None
        raise InputError(f"arise benchmark needs the module {error.name}, which this "
                         "installation lacks: pip install "
                         "'arise-crystal-recognition[benchmark]'.") from None
    try:
        code = benchmark_main(extra)
    except SystemExit as stop:  # its own --help or usage error
        code = stop.code
    return 0 if code is None else code if isinstance(code, int) else 1


def _prototypes(args, extra):
    print(f"{'id':>3s}  {'name':24s}  {'material type':13s}  space group")
    for p in load_prototypes():
        group = "-" if p.space_group is None else str(p.space_group)
        print(f"{p.class_id:3d}  {p.name:24s}  {p.material_type:13s}  {group}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
