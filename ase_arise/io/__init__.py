"""Adapters: structure files in (:mod:`.read`, with a hook for other packages' readers;
:mod:`.trajectory`: one frame at a time) and
per-atom results out (:mod:`.write`: extended XYZ, LAMMPS dumps; :mod:`.frames`: a resumable
trajectory writer; :mod:`.atomic`: no user file is ever truncated by a failed run)."""

from .atomic import atomic_output, check_output_path
from .frames import FrameWriter
from .read import read_frames, read_structures
from .trajectory import open_trajectory
from .write import FORMATS, output_format, write_frames, write_lammps_dump

__all__ = ["FORMATS", "FrameWriter", "atomic_output", "check_output_path", "open_trajectory",
           "output_format", "read_frames", "read_structures", "write_frames", "write_lammps_dump"]
