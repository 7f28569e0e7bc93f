"""Frames of a trajectory read one at a time, so that a long trajectory never sits whole in
memory and Dask workers read their own frames (:mod:`ase_arise.distributed`).

:func:`open_trajectory` indexes a file once and returns a small, picklable sequence whose
``trajectory[k]`` reads frame k only: text trajectories (extended XYZ, XYZ, LAMMPS text dumps)
by the byte range of each frame, found by one pass that skips the atom lines; ASE databases by
row id; formats of the readers registered under ``arise.trajectories`` (``ovito_arise``: OVITO's
formats) through their own frame access. Any other file (compressed, or a format ASE only reads
whole) is read whole once, by :func:`~ase_arise.io.read_frames`. A frame reads exactly as
``read_frames(path)[k]`` does (the same ASE reader on the same bytes).
"""

import io
from collections import deque
from collections.abc import Sequence
from importlib.metadata import entry_points
from itertools import islice
from pathlib import Path

import ase.db
import ase.io
import ase.io.formats

from ..errors import InputError, one_line
from .read import read_frames

# Entry-point group of lazy readers: ``open(path) -> sequence of ase.Atoms`` (picklable, with
# ``len`` and ``trajectory[k]``) that raises on a file it cannot read.
TRAJECTORIES_GROUP = "arise.trajectories"
# ASE formats whose frames are byte ranges of the file (the name ASE's filetype gives them).
_TEXT_FORMATS = ("extxyz", "xyz", "lammps-dump-text")
# First bytes of compressed files (gzip, bzip2, xz): read whole by ASE.
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")


def open_trajectory(path):
    """The frames of a structure file or ASE database, each read when asked for.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    sequence of ase.Atoms
        ``len`` is the number of frames; ``trajectory[k]`` reads frame k (negative k counts
        from the end). Frame 0 is read here, so that an unreadable file fails now.

    Raises
    ------
    FileNotFoundError, InputError
        As :func:`~ase_arise.io.read_frames`.
    """
    path = Path(path)
    if not path.is_file():
        return LoadedFrames(read_frames(path))  # its errors: missing file, a directory
    trajectory = _indexed(path)
    if trajectory is not None:
        try:
            trajectory[0]
            return trajectory
        except InputError:
            pass  # other readers may read it: read_frames tries them and names every problem
    if _ase_format(path) is not None:  # ASE reads it, whole (as read_frames would)
        return LoadedFrames(read_frames(path))
    for reader in entry_points(group=TRAJECTORIES_GROUP):
        try:
            trajectory = reader.load()(path)
            if len(trajectory):
                return trajectory
        except Exception:  # not its format (or its package is missing): read_frames explains
            continue
    return LoadedFrames(read_frames(path))


def _indexed(path):
    """A :class:`TextFrames` or :class:`DatabaseFrames` of ``path``, or None."""
    if path.suffix == ".db":
        try:
            with ase.db.connect(str(path)) as db:
                ids = [row.id for row in db.select(include_data=False)]
        except Exception:  # not a database ASE can open
            return None
        return DatabaseFrames(str(path), ids) if ids else None
    with open(path, "rb") as handle:
        if handle.read(6).startswith(_COMPRESSED):
            return None
    format = _ase_format(path)
    if format not in _TEXT_FORMATS:
        return None
    with open(path, "rb") as handle:
        offsets = (_dump_offsets if format == "lammps-dump-text" else _xyz_offsets)(handle)
    return TextFrames(str(path), format, offsets) if offsets and len(offsets) > 1 else None


def _ase_format(path):
    """The name of ``path``'s format as ASE knows it, or None."""
    try:
        return ase.io.formats.filetype(str(path), guess=False)
    except Exception:  # ASE does not know the name or the content
        return None


def _skip(handle, n_lines):
    """Skip ``n_lines`` lines at C speed (a frame cut short by the file's end is left for its
    reader to reject: that frame alone fails)."""
    deque(islice(handle, n_lines), maxlen=0)


def _xyz_offsets(handle):
    """Byte offsets of the frames of an (extended) XYZ file and of its end; None if a frame
    header is not an atom count."""
    offsets = []
    while True:
        start = handle.tell()
        line = handle.readline()
        if not line.strip():
            if not line or not handle.read().strip():  # the end, or trailing blank lines
                return offsets + [start] if offsets else None
            return None
        try:
            n_atoms = int(line.split()[0])
        except ValueError:
            return None
        offsets.append(start)
        _skip(handle, n_atoms + 1)


def _dump_offsets(handle):
    """Byte offsets of the timesteps of a LAMMPS text dump and of its end; None if the file
    does not read as one."""
    offsets, n_atoms = [], None
    while True:
        start = handle.tell()
        line = handle.readline()
        if not line:
            return offsets + [start] if offsets else None
        if line.startswith(b"ITEM: TIMESTEP"):
            offsets.append(start)
        elif line.startswith(b"ITEM: NUMBER OF ATOMS"):
            try:
                n_atoms = int(handle.readline())
            except ValueError:
                return None
        elif line.startswith(b"ITEM: ATOMS"):
            if n_atoms is None:
                return None
            _skip(handle, n_atoms)
        elif not offsets:
            return None


class _Frames(Sequence):
    """A sequence of frames read on demand (negative indices count from the end)."""

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        if not -len(self) <= k < len(self):
            raise IndexError(f"frame {k} is out of range: {self.name} has {len(self)} frame(s)")
        return self._read(k % len(self))


class TextFrames(_Frames):
    """Frames of a text trajectory: frame k is the ``format`` text between ``offsets[k]`` and
    ``offsets[k + 1]`` (bytes) of ``path``."""

    def __init__(self, path, format, offsets):
        self.path, self.format, self.offsets = path, format, list(offsets)
        self.name = path

    def __len__(self):
        return len(self.offsets) - 1

    def _read(self, k):
        with open(self.path, "rb") as handle:
            handle.seek(self.offsets[k])
            text = handle.read(self.offsets[k + 1] - self.offsets[k]).decode()
        try:
            return ase.io.read(io.StringIO(text), index=0, format=self.format)
        except Exception as error:  # ASE's readers raise any type on a frame they cannot parse
            raise InputError(f"Cannot read frame {k} of {self.path} (ASE: {type(error).__name__}"
                             f": {one_line(error)}): check the file.") from None


class DatabaseFrames(_Frames):
    """Rows of an ASE database, in id order (as :func:`read_frames` reads them)."""

    def __init__(self, path, ids):
        self.path, self.ids, self.name = path, list(ids), path

    def __len__(self):
        return len(self.ids)

    def _read(self, k):
        with ase.db.connect(self.path) as db:
            return db.get(id=self.ids[k]).toatoms()


class LoadedFrames(_Frames):
    """Frames already in memory (a format read whole)."""

    def __init__(self, frames):
        self.frames, self.name = list(frames), "the file"

    def __len__(self):
        return len(self.frames)

    def _read(self, k):
        return self.frames[k]
