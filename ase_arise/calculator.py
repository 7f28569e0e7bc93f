"""``ARISE``: the model and its settings configured once, used like an ASE calculator.

>>> from ase.build import bulk
>>> from ase_arise import ARISE
>>> atoms = bulk("Cu", "fcc", a=3.6)
>>> atoms.calc = ARISE()
>>> atoms.calc.get_property("prototype", atoms)
'fcc'
"""

import dataclasses

from ase.calculators.calculator import BaseCalculator

from .classify import classify
from .errors import InputTypeError
from .labels import iter_label
from .settings import DEFAULT_TOLERANCE, Settings
from .spm import iter_spm, run_steps


class ARISE(BaseCalculator):
    """ARISE crystal-structure recognition with fixed settings, ASE-calculator style.

    Structure-level properties come from :func:`ase_arise.classify` on the whole structure,
    per-atom ones ("atom_*") from :func:`ase_arise.label`. Results are cached until the atoms
    change (positions, numbers, cell, pbc), as for any ASE calculator.

    Parameters
    ----------
    settings : Settings, optional
        All settings at once; the keywords below then must be left out.
    box, stride, mode, per_atom, axes, n_samples, tolerance, min_atoms, min_anisotropy,
    random_state, model, device
        See :class:`~ase_arise.settings.Settings` (box and stride in Å); validated here, so
        a bad value fails at construction.

    Attributes
    ----------
    settings : Settings
    model : ARISEModel
        The loaded network.
    """

    implemented_properties = [
        "prototype", "class_id", "other", "anisotropy", "probability", "probabilities",
        "mutual_information", "entropy", "atom_class_id", "atom_other", "atom_probability",
        "atom_mutual_information", "atom_uncertainty"]
    name = "arise"

    def __init__(self, *, settings=None, model=None, box=16.0, stride=4.0, mode="auto",
                 per_atom=False, axes=None, n_samples=None, tolerance=DEFAULT_TOLERANCE,
                 min_atoms=50, min_anisotropy=None, random_state=0, device="cpu"):
        given = dict(model=model, box=box, stride=stride, mode=mode, per_atom=per_atom,
                     axes=axes, n_samples=n_samples, tolerance=tolerance, min_atoms=min_atoms,
                     min_anisotropy=min_anisotropy, random_state=random_state, device=device)
        if settings is None:
            settings = Settings(**given)
        elif not isinstance(settings, Settings):
            raise InputTypeError("The 'settings' parameter must be an ase_arise.Settings. Got "
                                 f"{type(settings).__name__} instead.")
        elif given != {f.name: f.default for f in dataclasses.fields(Settings) if f.init}:
            raise InputTypeError("ARISE() takes either 'settings' or keyword settings, not both.")
        self.settings = settings
        super().__init__(parameters={name: getattr(settings, name)
                                     for name in Settings.fields() if name != "model"})

    @property
    def model(self):
        """The loaded :class:`~ase_arise.model.ARISEModel`."""
        return self.settings.network

    def classify(self, atoms, **kwargs):
        """:func:`ase_arise.classify` with this object's model, n_samples, min_anisotropy,
        random_state and device."""
        return classify(atoms, model=self.model, n_samples=self.settings.n_samples,
                        min_anisotropy=self.settings.min_anisotropy, device=self.settings.device,
                        random_state=self.settings.random_state, **kwargs)

    def spm(self, atoms, *, keep_descriptors=False, progress=False, **changes):
        """:func:`ase_arise.spm` with this object's settings; keywords change some of them."""
        steps = iter_spm(atoms, self.settings.replace(**changes),
                         keep_descriptors=keep_descriptors)
        return run_steps(steps, progress)

    def label(self, atoms, *, probabilities=False, inplace=False, progress=False, **changes):
        """:func:`ase_arise.label` with this object's settings; keywords change some of them."""
        steps = iter_label(atoms, self.settings.replace(**changes),
                           probabilities=probabilities, inplace=inplace)
        return run_steps(steps, progress)

    def calculate(self, atoms, properties, system_changes):
        """Fill ``self.results`` with the requested properties (ASE calculator protocol)."""
        if any(not name.startswith("atom_") for name in properties):
            result = self.classify(atoms)
            self.results.update(
                prototype=result.name, class_id=result.class_id, other=result.other,
                anisotropy=result.anisotropy, probability=result.probability,
                probabilities=result.probabilities,
                mutual_information=result.mutual_information, entropy=result.entropy)
        if any(name.startswith("atom_") for name in properties):
            labels = self.label(atoms)
            self.results.update(
                atom_class_id=labels.class_id, atom_other=labels.other,
                atom_probability=labels.probability,
                atom_mutual_information=labels.mutual_information,
                atom_uncertainty=labels.uncertainty)

    def __repr__(self):
        return f"ARISE({self.settings!r})"
