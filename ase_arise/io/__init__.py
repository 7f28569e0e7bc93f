"""Adapters: structure files in (:mod:`.read`, with a hook for other packages' readers) and
per-atom results out (:mod:`.write`: extended XYZ, LAMMPS dumps)."""

from .read import read_frames, read_structures
from .write import FORMATS, output_format, write_frames, write_lammps_dump

__all__ = ["FORMATS", "output_format", "read_frames", "read_structures", "write_frames",
           "write_lammps_dump"]
