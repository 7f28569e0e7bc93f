"""What both ARISE modifiers share: the scan's traits, their Settings, the particles as Atoms,
OVITO's per-frame cache and progress.

OVITO has no units: positions and cell are taken as Å (the box size and stride are in Å too).
Trait names are the Python names of :class:`ase_arise.Settings`; traits renamed in 0.2.0
still load from session states saved by 0.1.0 (:data:`RENAMED_TRAITS`).
"""

import warnings

import numpy as np
from ovito.pipeline import ModifierInterface
from ovito.traits import FilePath
from traits.api import Bool, Enum, Range, Str

from ase import Atoms
from ase_arise import Settings
from ase_arise._deprecation import REMOVED_IN
from ase_arise.errors import AriseError
from ase_arise.settings import MODES

SPECIES = ("particle types", "geometry only")
# Trait names of arise 0.1.0 -> their 0.2.0 names (the names of Settings' fields).
RENAMED_TRAITS = {"random_seed": "random_state", "per_particle": "per_atom",
                  "model_path": "model"}


class ARISEModifierError(ValueError):
    """Bad input or settings of an ARISE modifier; the message says what to change."""


class ScanModifier(ModifierInterface):
    """Base of the ARISE modifiers: the strided-pattern-matching traits (GUI labels in brackets).

    box : float, default=16.0
        ["Box size (Å)"] SPM box edge, Å.
    stride : float, default=4.0
        ["Stride (Å)"] step between box centres, Å.
    mode : {"auto", "fast", "exact"}, default="auto"
        ["Box descriptors"] see :mod:`ase_arise.spm` (auto: fast for fully periodic cells).
    min_atoms : int, default=50
        ["Minimum particles per box"] sparser boxes have no prediction.
    species : {"particle types", "geometry only"}, default="particle types"
        ["Species"] each particle type a species (numbered 1..n: the element does not enter
        the descriptor, so LAMMPS's numeric types work as they are), or one species for all.
    only_selected : bool, default=False
        ["Use only selected particles"] the others are left out of the boxes.
    model : str, default=""
        ["Model file (.onnx; empty: shipped model)"]; "" means the shipped model.
    device : str, default="cpu"
        ["Device (cpu, cuda, cuda:N)"] where the coefficients and the network run
        (:mod:`ase_arise.device`; a GPU needs CuPy in OVITO's Python).
    """

    box = Range(low=1.0, high=1000.0, value=16.0, label="Box size (Å)")
    stride = Range(low=0.1, high=1000.0, value=4.0, label="Stride (Å)")
    mode = Enum(*MODES, label="Box descriptors")
    min_atoms = Range(low=1, high=1_000_000, value=50, label="Minimum particles per box")
    species = Enum(*SPECIES, label="Species")
    only_selected = Bool(False, label="Use only selected particles")
    model = FilePath("", label="Model file (.onnx; empty: shipped model)")
    device = Str("cpu", label="Device (cpu, cuda, cuda:N)")

    def __init__(self, **traits):
        super().__init__(**_renamed(traits, type(self).__name__))

    def __setattr__(self, name, value):
        # session states of 0.1.0 set the old trait names
        super().__setattr__(RENAMED_TRAITS.get(name, name), value)

    def settings(self, **fixed):
        """The :class:`ase_arise.Settings` of these traits (``fixed``: fields this modifier
        sets itself)."""
        values = dict(box=self.box, stride=self.stride, mode=self.mode,
                      min_atoms=self.min_atoms, model=self.model.strip() or None,
                      device=self.device.strip())
        values.update(fixed)
        return Settings(**values)

    def scan(self, data, frame, data_cache, compute):
        """The particles as Atoms, their mask, and the scan results ``compute(atoms,
        settings)`` (a step generator) cached per frame; ase_arise's errors become
        ARISEModifierError. Use as ``atoms, members, boxes = yield from self.scan(...)``."""
        try:
            settings = self.settings()
            atoms, members = particles_as_atoms(data, only_selected=self.only_selected,
                                                species=self.species)
            boxes = yield from cached_per_frame(data_cache, f"ARISE.{type(self).__name__}",
                                                frame, lambda: compute(atoms, settings))
        except AriseError as error:
            raise ARISEModifierError(str(error)) from None
        return settings, members, boxes


def _renamed(traits, owner):
    """``traits`` with the 0.1.0 names replaced by the new ones (with a DeprecationWarning)."""
    out = {}
    for name, value in traits.items():
        new = RENAMED_TRAITS.get(name, name)
        if new in out or (new != name and new in traits):
            raise TypeError(f"{owner}() got both '{name}' and its new name '{new}'.")
        if new != name:
            warnings.warn(f"The '{name}' trait of {owner} is renamed '{new}'; '{name}' will be "
                          f"removed in {REMOVED_IN}.", DeprecationWarning, stacklevel=3)
        out[new] = value
    return out


def particles_as_atoms(data, *, only_selected, species):
    """The particles of an OVITO DataCollection as ase.Atoms, and the mask of those taken.

    Parameters
    ----------
    data : ovito.data.DataCollection
    only_selected : bool
        Take only the selected particles.
    species : {"particle types", "geometry only"}
        Each particle type a species (numbered 1..n), or all particles one species.

    Returns
    -------
    atoms : ase.Atoms
        Positions in the cell's frame (OVITO's cell origin moved to 0), pbc from the cell.
    members : ndarray of shape (n_particles,), bool
    """
    particles = data.particles
    if particles is None or particles.count == 0:
        raise ARISEModifierError("The input holds no particles: ARISE needs atoms (load a "
                                 "structure before this modifier).")
    if "Position" not in particles:
        raise ARISEModifierError("The particles have no 'Position' property: ARISE needs "
                                 "particle positions.")
    members = np.ones(particles.count, dtype=bool)
    if only_selected:
        if particles.selection is None:
            raise ARISEModifierError(
                "'Use only selected particles' is on, but nothing is selected (no "
                "'Selection' property): select particles above this modifier, or turn "
                "the option off.")
        members = np.asarray(particles.selection) != 0
        if not members.any():
            raise ARISEModifierError("'Use only selected particles' is on, but no particle "
                                     "is selected.")
    numbers = np.ones(int(members.sum()), dtype=np.int64)
    if species == "particle types" and particles.particle_types is not None:
        _, inverse = np.unique(np.asarray(particles.particle_types)[members],
                               return_inverse=True)
        numbers = inverse.astype(np.int64) + 1
    positions = np.asarray(particles.positions, dtype=np.float64)[members]
    if data.cell is None:
        return Atoms(numbers=numbers, positions=positions, pbc=False), members
    matrix = np.asarray(data.cell, dtype=np.float64)
    pbc = np.array(data.cell.pbc, dtype=bool)
    if data.cell.is2D:
        pbc[2] = False
    return Atoms(numbers=numbers, positions=positions - matrix[:, 3], cell=matrix[:, :3].T,
                 pbc=pbc), members


def cached_per_frame(data_cache, prefix, frame, compute):
    """The value stored in OVITO's ``data_cache`` for ``frame``, else ``yield from compute()``
    stored there in place of other frames' values (one frame kept: a long trajectory does not
    pile up box arrays). OVITO clears the cache when the input or a computing parameter
    changes."""
    key = f"{prefix}.frame{frame}"
    if data_cache is not None and key in data_cache.attributes:
        return data_cache.attributes[key]
    value = yield from compute()
    if data_cache is not None:
        for stale in [k for k in data_cache.attributes if k.startswith(prefix + ".")]:
            del data_cache.attributes[stale]
        data_cache.attributes[key] = value
    return value


def relay_progress(steps):
    """Relay an ase_arise step generator to OVITO (``yield`` of stage texts and fractions);
    returns its result. Use as ``result = yield from relay_progress(steps)``."""
    stage = None
    while True:
        try:
            text, done, total = next(steps)
        except StopIteration as stop:
            return stop.value
        if text != stage:
            stage = text
            yield text
        yield done / max(total, 1)


def check_predictions(result):
    """Raise ARISEModifierError when no box of an SPM result has a prediction."""
    if not result.valid.any():
        raise ARISEModifierError(
            f"No box holds at least {result.min_atoms} particles (the densest holds "
            f"{int(result.n_atoms.max())}): use a larger box size or a lower 'Minimum "
            "particles per box'.")
