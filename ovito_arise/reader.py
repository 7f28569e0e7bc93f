"""OVITO's file readers for ``ase_arise``: registered under the entry-point group
``arise.readers``, so that ``arise`` and :func:`ase_arise.io.read_frames` read what ASE cannot
(LAMMPS data files, OVITO's other formats) without ``ase_arise`` importing OVITO."""

from collections.abc import Sequence

from ovito.io import import_file
from ovito.io.ase import ovito_to_ase


def read_frames(path):
    """Every frame of ``path`` read by OVITO's ``import_file``, as ase.Atoms.

    Each frame is converted with ``ovito.io.ase.ovito_to_ase`` (numeric LAMMPS types become
    atomic numbers 1, 2, ...); spaces in property names become underscores, which extended XYZ
    needs. OVITO raises RuntimeError (and others) on a file it cannot read.
    """
    return list(OvitoFrames(path))


class OvitoFrames(Sequence):
    """The frames of ``path`` read one at a time by OVITO (registered under
    ``arise.trajectories``, :func:`ase_arise.io.open_trajectory`): picklable, so that Dask
    workers read their own frames; each process opens the file once."""

    def __init__(self, path):
        self.path = str(path)
        self._pipeline = import_file(self.path)
        self._length = self._pipeline.source.num_frames

    def __getstate__(self):
        return {"path": self.path, "_length": self._length}

    def __setstate__(self, state):
        self.__dict__.update(state, _pipeline=None)

    def __len__(self):
        return self._length

    def __getitem__(self, k):
        if not -self._length <= k < self._length:
            raise IndexError(f"frame {k} is out of range: {self.path} has {self._length} "
                             "frame(s)")
        if self._pipeline is None:
            self._pipeline = import_file(self.path)
        atoms = ovito_to_ase(self._pipeline.compute(k % self._length))
        for name in [name for name in atoms.arrays if " " in name]:
            atoms.arrays[name.replace(" ", "_")] = atoms.arrays.pop(name)
        return atoms
