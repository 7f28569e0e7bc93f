"""Reading structures: an Atoms, a list, an ASE database or any file ASE reads, every frame.

When ASE cannot read a file, readers registered by other packages under the entry-point group
``arise.readers`` are tried in turn (``ovito_arise`` registers OVITO's, which reads LAMMPS data
files and OVITO's other formats); ``ase_arise`` itself never imports them. A reader is a function
``read_frames(path) -> list of ase.Atoms`` that raises on a file it cannot read.
"""

import os
from importlib.metadata import entry_points
from pathlib import Path

import ase.db
import ase.io
from ase import Atoms

from ..errors import InputError, InputTypeError, one_line

READERS_GROUP = "arise.readers"
# What to install for the readers that packages of the arise distribution register.
READER_HINTS = {"ovito": "pip install 'arise-crystal-recognition[ovito]' (or pip install ovito)"}


def read_structures(source):
    """Structures from an Atoms, a path, or a list of Atoms and paths (every frame of each file).

    Parameters
    ----------
    source : ase.Atoms, path-like, or iterable of ase.Atoms / path-like
        A path may be an ASE database (.db) or any structure file (:func:`read_frames`).

    Returns
    -------
    list of ase.Atoms
        The Atoms given are returned as they are (not copied).

    Raises
    ------
    TypeError
        ``source`` (or an entry of it) is neither an Atoms nor a path.
    FileNotFoundError, InputError
        A missing or unreadable file.
    """
    if isinstance(source, Atoms):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        return read_frames(source)
    if source is None or isinstance(source, bytes) or not hasattr(source, "__iter__"):
        raise InputTypeError("Structures must be given as an ase.Atoms, a file path, or a list of "
                             f"them. Got {type(source).__name__} instead.")
    structures = []
    for k, entry in enumerate(source):
        if isinstance(entry, Atoms):
            structures.append(entry)
        elif isinstance(entry, (str, os.PathLike)):
            structures += read_frames(entry)
        else:
            raise InputTypeError(f"Entry {k} of the structures is a {type(entry).__name__}; give "
                                 "ase.Atoms objects or file paths.")
    return structures


def read_frames(path):
    """Every frame of a structure file or ASE database, as a list of ase.Atoms (positions Å).

    ASE reads the file first (``ase.io.read(path, index=":")``, format from the name or the
    content; ``.db`` files with ``ase.db``); if ASE cannot, the readers registered under
    ``arise.readers`` are tried (OVITO's, where ``ovito_arise`` and OVITO are installed).

    Raises
    ------
    FileNotFoundError
        No such file.
    InputError
        A directory, or a file that no reader can read (each reader's complaint is named).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such structure file: {path}")
    if not path.is_file():
        raise InputError(f"{path} is not a file; give a structure file.")
    try:
        if path.suffix == ".db":
            frames = [row.toatoms() for row in ase.db.connect(str(path)).select()]
        else:
            frames = ase.io.read(path, index=":")
        problems = ["ASE: no structures in it"] if not frames else []
    except Exception as error:  # ASE's readers raise any type on a file they cannot parse
        frames, problems = [], [f"ASE: {type(error).__name__}: {one_line(error)}"]
    if not problems:
        return list(frames)
    hints = []
    for reader in entry_points(group=READERS_GROUP):
        try:
            read = reader.load()
        except ImportError as error:  # the reader's package lacks a dependency
            hints.append(READER_HINTS.get(reader.name, f"the dependencies of {reader.value}"))
            problems.append(f"{reader.name}: not available ({one_line(error)})")
            continue
        try:
            frames = read(path)
        except Exception as error:  # a reader raises whatever its library raises
            problems.append(f"{reader.name}: {one_line(error)}")
            continue
        if frames:
            return list(frames)
        problems.append(f"{reader.name}: no structures in it")
    fix = f"to read more formats, {' or '.join(hints)}" if hints else \
        "check the file, or convert it to extended XYZ"
    raise InputError(f"Cannot read {path} ({'; '.join(problems)}): {fix}.")
