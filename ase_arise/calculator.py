"""``ARISE``: the model and its settings configured once, used like an ASE calculator.

>>> from ase.build import bulk
>>> from ase_arise import ARISE
>>> atoms = bulk("Cu", "fcc", a=3.6)
>>> atoms.calc = ARISE()
>>> atoms.calc.get_property("prototype", atoms)
'fcc'
"""

from ase.calculators.calculator import BaseCalculator

from .classify import _model, classify
from .errors import InputError
from .labels import label
from .spm import DEFAULT_TOLERANCE, MODES, spm


class ARISE(BaseCalculator):
    """ARISE crystal-structure recognition with fixed settings, ASE-calculator style.

    Structure-level properties come from :func:`ase_arise.classify` on the whole structure,
    per-atom ones ("atom_*") from :func:`ase_arise.label`. Results are cached until the atoms
    change (positions, numbers, cell, pbc), as for any ASE calculator.

    Parameters
    ----------
    model : None, path or ARISEModel
        None: the shipped 108-class model.
    box : float, default=16.0
        SPM box edge (Å).
    stride : float, default=4.0
        SPM step (Å).
    n_samples : int, optional
        MC-dropout passes (default: the model's).
    tolerance : float or None, default=0.01
        Adaptive MC-dropout sampling of SPM boxes (see :func:`ase_arise.spm`).
    mode : {"auto", "fast", "exact"}, default="auto"
        SPM box descriptors (see :mod:`ase_arise.spm`).
    min_atoms : int, default=50
        Boxes with fewer atoms have no prediction.
    random_state : None, int or numpy.random.Generator, default=0
        Seeds the dropout masks.
    """

    implemented_properties = [
        "prototype", "class_id", "probability", "probabilities", "mutual_information",
        "entropy", "atom_class_id", "atom_probability", "atom_mutual_information"]
    name = "arise"

    def __init__(self, *, model=None, box=16.0, stride=4.0, n_samples=None,
                 tolerance=DEFAULT_TOLERANCE, mode="auto", min_atoms=50, random_state=0):
        super().__init__(parameters=dict(box=box, stride=stride, n_samples=n_samples,
                                         tolerance=tolerance, mode=mode, min_atoms=min_atoms,
                                         random_state=random_state))
        self.model = _model(model)
        if mode not in MODES:
            raise InputError(f"The 'mode' parameter must be one of {MODES}. Got {mode!r}.")

    def classify(self, atoms, **kwargs):
        """:func:`ase_arise.classify` with this object's model, n_samples and random_state."""
        return classify(atoms, model=self.model, n_samples=self.parameters["n_samples"],
                        random_state=self.parameters["random_state"], **kwargs)

    def spm(self, atoms, **kwargs):
        """:func:`ase_arise.spm` with this object's settings; keywords override them."""
        return spm(atoms, **{**self._spm_settings(), **kwargs})

    def label(self, atoms, **kwargs):
        """:func:`ase_arise.label` with this object's settings; keywords override them."""
        return label(atoms, **{**self._spm_settings(), **kwargs})

    def _spm_settings(self):
        return dict(self.parameters, model=self.model)

    def calculate(self, atoms, properties, system_changes):
        """Fill ``self.results`` with the requested properties (ASE calculator protocol)."""
        if any(not name.startswith("atom_") for name in properties):
            result = self.classify(atoms)
            self.results.update(
                prototype=result.name, class_id=result.class_id,
                probability=result.probability, probabilities=result.probabilities,
                mutual_information=result.mutual_information, entropy=result.entropy)
        if any(name.startswith("atom_") for name in properties):
            labels = self.label(atoms)
            self.results.update(
                atom_class_id=labels.class_id, atom_probability=labels.probability,
                atom_mutual_information=labels.mutual_information)

    def __repr__(self):
        settings = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        return f"ARISE({settings})"

