"""A resumable trajectory writer: frames go to ``OUT.partial`` as they are done, and OUT appears
only when the last one is written.

Each frame is appended whole and flushed to disk, and a small state file
``OUT.partial.json`` records the frames and bytes complete together with a key (the input
file, its size and modification time, the settings, the columns and the format). A new writer
with the same key resumes after the last complete frame (a frame cut off by an interrupt is
dropped); any other key starts afresh. An interrupted or failed run leaves an existing OUT
untouched. The distributed executors write through this class too.
"""

import json
import os
from pathlib import Path

from ..errors import InputError
from .atomic import atomic_output
from .write import check_frame, output_format, write_frame


class FrameWriter:
    """Write frames one by one to ``path`` (extended XYZ or LAMMPS dump).

    Parameters
    ----------
    path : path-like
        The final file; ``path + ".partial"`` and ``path + ".partial.json"`` beside it while
        frames are written.
    columns : sequence of str
        Per-atom arrays of each frame to write (LAMMPS dumps; extended XYZ writes every array).
    key : dict
        JSON-serialisable description of the run: resuming needs the same key.
    format : {"extxyz", "lammps-dump"}, optional
        Default: from the suffix of ``path``.

    Attributes
    ----------
    done : int
        Frames already complete (those of a resumed run included), skipped ones too.
    failed : list of int
        The numbers of the frames skipped (:meth:`skip`).
    """

    def __init__(self, path, columns, key, *, format=None):
        self.path = Path(path)
        self.format = output_format(self.path, format)
        self.columns = list(columns)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.state_path = self.path.with_name(self.path.name + ".partial.json")
        self.key = json.loads(json.dumps(key))  # as it will read back
        self.done, self._bytes, self.failed = 0, 0, []
        state = self._read_state()
        if state is not None and state.get("key") == self.key and self.partial.is_file() \
                and self.partial.stat().st_size >= state.get("bytes", -1) >= 0:
            self.done, self._bytes = int(state["frames"]), int(state["bytes"])
            self.failed = [int(k) for k in state.get("failed", [])]
            with open(self.partial, "r+b") as handle:  # drop a frame cut off mid-write
                handle.truncate(self._bytes)
        else:
            self.partial.write_bytes(b"")
            self._write_state()

    def _read_state(self):
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write_state(self):
        with atomic_output(self.state_path, encoding="utf-8") as handle:
            json.dump({"key": self.key, "frames": self.done, "bytes": self._bytes,
                       "failed": self.failed}, handle)

    def write(self, atoms, step=None):
        """Append one frame, as LAMMPS timestep ``step`` (default: the frames done so far);
        checked first: a frame the format cannot hold raises InputError and leaves the
        partial file as it was."""
        check_frame(atoms, self.format)
        with open(self.partial, "a", encoding="utf-8") as handle:
            write_frame(handle, atoms, self.columns, self.format,
                        self.done if step is None else step)
            handle.flush()
            os.fsync(handle.fileno())
            self._bytes = handle.tell()
        self.done += 1
        self._write_state()

    def skip(self, number):
        """Count frame ``number`` as done without writing it (it failed); a resumed run does
        not try it again."""
        self.done += 1
        self.failed.append(int(number))
        self._write_state()

    def close(self):
        """Move the complete file into place (replacing an old ``path``) and remove the state."""
        if not self._bytes:
            raise InputError(f"No frame was written to {self.partial}: nothing to move to "
                             f"{self.path}.")
        os.replace(self.partial, self.path)
        self.state_path.unlink(missing_ok=True)
