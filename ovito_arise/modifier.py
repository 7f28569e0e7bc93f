"""The "ARISE classification" modifier: per-particle ARISE labels in OVITO pipelines.

A thin adapter over :func:`ase_arise.labels.iter_label`: the particles (optionally only the
selected ones) become an ``ase.Atoms``, strided pattern matching labels every atom, and the
results come back as particle properties beside PTM's or CNA's "Structure Type", which they
never overwrite:

"ARISE Structure Type"
    The most probable prototype, as named, coloured types (id 0 "No prediction", id k + 1 the
    model's class k; OVITO's colours for the structures PTM also knows).
"ARISE Probability"
    Its probability (0-1).
"ARISE Uncertainty"
    Mutual information of the MC-dropout passes, bits (0: certain).
"ARISE Top Types", "ARISE Top Probabilities", "ARISE Probabilities"
    When asked for: the k best types (same ids as "ARISE Structure Type") with their
    probabilities, or the probabilities of selected prototypes or of all of them.

plus the data table "arise-structures" (particles per prototype, a bar chart in the GUI) and
the global attributes "ARISE.counts.<prototype>", "ARISE.mean_uncertainty", "ARISE.model".

OVITO has no units: positions and cell are taken as Å (the box size and stride are in Å too).

Species: by default particles of different types are different species (the descriptor pairs
species; which element a type is does not enter it, so LAMMPS's numeric types work as they
are). "geometry only" treats all particles as one species.
"""

import re

import numpy as np
from ovito.data import DataTable, ElementType
from ovito.pipeline import ModifierInterface
from ovito.traits import FilePath
from traits.api import Bool, Enum, Range, Str

from ase import Atoms
from ase_arise.classify import load_model
from ase_arise.errors import AriseError
from ase_arise.labels import iter_label
from ase_arise.spm import MODES

from .structure_types import NO_PREDICTION, structure_types

TYPE_PROPERTY = "ARISE Structure Type"
PROBABILITY_PROPERTY = "ARISE Probability"
UNCERTAINTY_PROPERTY = "ARISE Uncertainty"
TOP_TYPES_PROPERTY = "ARISE Top Types"
TOP_PROBABILITIES_PROPERTY = "ARISE Top Probabilities"
PROBABILITIES_PROPERTY = "ARISE Probabilities"
TABLE = "arise-structures"
OUTPUTS = ("none", "top-k", "selected prototypes", "all")
SPECIES = ("particle types", "geometry only")


class ARISEModifierError(ValueError):
    """Bad input or settings of the ARISE modifier; the message says what to change."""


class ARISEModifier(ModifierInterface):
    """ARISE classification of every particle: prototype, probability and uncertainty.

    Parameters (traits; GUI labels in brackets)
    ----------
    box : float, default=16.0
        ["Box size (Å)"] SPM box edge, Å.
    stride : float, default=4.0
        ["Stride (Å)"] step between box centres, Å (unused with ``per_particle``).
    per_particle : bool, default=False
        ["One box per particle (slow)"] a box centred on every particle instead of the grid.
    mode : {"auto", "fast", "exact"}, default="auto"
        ["Box descriptors"] see :mod:`ase_arise.spm` (auto: fast for fully periodic cells).
    n_samples : int, default=100
        ["MC-dropout passes (at most)"].
    tolerance : float, default=0.01
        ["Adaptive sampling tolerance"] a box stops sampling once its probabilities and MI
        (bits) move less than this per block of 10 passes; 0 gives every box all passes.
    min_atoms : int, default=50
        ["Minimum particles per box"] sparser boxes have no prediction.
    species : {"particle types", "geometry only"}, default="particle types"
        ["Species"] see the module docstring.
    only_selected : bool, default=False
        ["Use only selected particles"] the others are left out of the boxes and get type
        "No prediction", as with OVITO's structure identification modifiers.
    random_seed : int, default=0
        ["Random seed"] of the MC-dropout masks.
    model_path : str, default=""
        ["Model file (.onnx; empty: shipped model)"].
    output_probabilities : {"none", "top-k", "selected prototypes", "all"}, default="none"
        ["Output probabilities"]; changing it, ``top_k``, ``prototypes`` or
        ``color_by_type`` re-uses the computed boxes.
    top_k : int, default=3
        ["k (top-k)"].
    prototypes : str, default="fcc, bcc, hcp, diamond"
        ["Selected prototypes (comma-separated)"] names as in :func:`ase_arise.class_names`.
    color_by_type : bool, default=True
        ["Color particles by type"] write the type colours to "Color".
    """

    box = Range(low=1.0, high=1000.0, value=16.0, label="Box size (Å)")
    stride = Range(low=0.1, high=1000.0, value=4.0, label="Stride (Å)")
    per_particle = Bool(False, label="One box per particle (slow)")
    mode = Enum(*MODES, label="Box descriptors")
    n_samples = Range(low=1, high=10000, value=100, label="MC-dropout passes (at most)")
    tolerance = Range(low=0.0, high=1.0, value=0.01, label="Adaptive sampling tolerance")
    min_atoms = Range(low=1, high=1_000_000, value=50, label="Minimum particles per box")
    species = Enum(*SPECIES, label="Species")
    only_selected = Bool(False, label="Use only selected particles")
    random_seed = Range(low=0, high=2 ** 31 - 1, value=0, label="Random seed")
    model_path = FilePath("", label="Model file (.onnx; empty: shipped model)")
    output_probabilities = Enum(*OUTPUTS, label="Output probabilities",
                                ovito_invalidate_cache=False)
    top_k = Range(low=1, high=1000, value=3, label="k (top-k)", ovito_invalidate_cache=False)
    prototypes = Str("fcc, bcc, hcp, diamond", label="Selected prototypes (comma-separated)",
                     ovito_invalidate_cache=False)
    color_by_type = Bool(True, label="Color particles by type", ovito_invalidate_cache=False)

    def modify(self, data, *, frame=0, data_cache=None, **kwargs):
        """Label the particles of ``data`` (OVITO calls this; a generator reporting progress)."""
        try:
            model = load_model(self.model_path.strip() or None)
            atoms, members = particles_as_atoms(data, only_selected=self.only_selected,
                                                species=self.species)
            boxes = yield from cached_per_frame(data_cache, "ARISE.classification", frame,
                                                lambda: self._label(atoms, model))
            self._output(data, model, members, boxes)
        except AriseError as error:
            raise ARISEModifierError(str(error)) from None

    def _label(self, atoms, model):
        """Run ase_arise's labelling, relaying its progress to OVITO; returns the box arrays."""
        steps = iter_label(atoms, box=self.box, stride=self.stride, mode=self.mode,
                           per_atom=self.per_particle, model=model, n_samples=self.n_samples,
                           tolerance=self.tolerance or None, min_atoms=self.min_atoms,
                           random_state=self.random_seed, inplace=True)
        labels = yield from relay_progress(steps)
        result = labels.spm
        check_predictions(result)
        return dict(probabilities=result.probabilities, uncertainty=result.mutual_information,
                    box_index=labels.box_index, mode=result.mode, n_boxes=len(result.centres),
                    n_valid=int(result.valid.sum()))

    def _output(self, data, model, members, boxes):
        """Write properties, table and attributes from the cached box results."""
        names = list(model.class_names)
        box_index = boxes["box_index"]
        has = box_index >= 0
        take = np.where(has, box_index, 0)
        box_probabilities = boxes["probabilities"]
        box_class = np.argmax(np.nan_to_num(box_probabilities, nan=-1.0), axis=1)
        type_id = np.zeros(len(members), dtype=np.int32)
        type_id[members] = np.where(has, box_class[take] + 1, 0)
        probability = np.full(len(members), np.nan)
        probability[members] = np.where(
            has, box_probabilities[np.arange(len(box_class)), box_class][take], np.nan)
        uncertainty = np.full(len(members), np.nan)
        uncertainty[members] = np.where(has, boxes["uncertainty"][take], np.nan)

        particles = data.particles_
        types = structure_types(names)
        prop = particles.create_property(TYPE_PROPERTY, data=type_id)
        for element in types:
            prop.types.append(element)
        particles.create_property(PROBABILITY_PROPERTY, data=probability)
        particles.create_property(UNCERTAINTY_PROPERTY, data=uncertainty)
        if self.color_by_type:
            palette = np.array([t.color for t in types])
            particles.create_property("Color", data=palette[type_id])
        self._output_probabilities(particles, names, members, has, take, box_probabilities)

        counts = np.bincount(type_id, minlength=len(types))
        present = np.flatnonzero(counts)
        table = data.tables_.create(identifier=TABLE, title="ARISE structure counts",
                                    plot_mode=DataTable.PlotMode.BarChart)
        x = table.create_property("Structure type", data=present.astype(np.int32))
        for k in present:
            x.types.append(ElementType(id=int(k), name=types[k].name, color=types[k].color))
        table.x = x
        table.y = table.create_property("Count", data=counts[present].astype(np.int64))
        for k, element in enumerate(types):
            data.attributes[f"ARISE.counts.{element.name}"] = int(counts[k])
        labelled = np.isfinite(uncertainty)
        data.attributes["ARISE.mean_uncertainty"] = (
            float(uncertainty[labelled].mean()) if labelled.any() else float("nan"))
        data.attributes["ARISE.model"] = (f"{model.path.name} "
                                          f"sha256:{model.metadata['onnx_sha256'][:12]}")
        data.attributes["ARISE.mode"] = boxes["mode"]
        data.attributes["ARISE.boxes"] = boxes["n_boxes"]
        data.attributes["ARISE.boxes_with_prediction"] = boxes["n_valid"]

    def _output_probabilities(self, particles, names, members, has, take, box_probabilities):
        """The optional probability properties (derived from the cached box results)."""
        if self.output_probabilities == "none":
            return
        if self.output_probabilities == "top-k":
            k = min(self.top_k, len(names))
            order = np.argsort(-np.nan_to_num(box_probabilities, nan=-1.0), axis=1)[:, :k]
            top_types = np.zeros((len(members), k), dtype=np.int32)
            top_types[members] = np.where(has[:, None], order[take] + 1, 0)
            top = np.full((len(members), k), np.nan)
            top[members] = np.where(has[:, None],
                                    np.take_along_axis(box_probabilities, order, axis=1)[take],
                                    np.nan)
            components = [str(j + 1) for j in range(k)]
            particles.create_property(TOP_TYPES_PROPERTY, data=top_types,
                                      components=components)
            particles.create_property(TOP_PROBABILITIES_PROPERTY, data=top,
                                      components=components)
            return
        columns = (list(range(len(names))) if self.output_probabilities == "all"
                   else _prototype_columns(self.prototypes, names))
        values = np.full((len(members), len(columns)), np.nan, dtype=np.float32)
        values[members] = np.where(has[:, None], box_probabilities[take][:, columns], np.nan)
        particles.create_property(PROBABILITIES_PROPERTY, data=values,
                                  components=[_component_name(names[c]) for c in columns])


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


def _prototype_columns(text, names):
    """Model output columns of a comma-separated list of prototype names."""
    wanted = [name.strip() for name in text.split(",") if name.strip()]
    if not wanted:
        raise ARISEModifierError("'Selected prototypes' is empty: give names such as "
                                 "'fcc, bcc, hcp', or choose another 'Output probabilities'.")
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise ARISEModifierError(
            f"Unknown prototype(s) {unknown} in 'Selected prototypes'. The model's names are: "
            f"{', '.join(names)}.")
    return [names.index(name) for name in wanted]


def _component_name(name):
    """A prototype name as a property component OVITO's expressions can address
    ("sc (α-Po)" -> "sc_α_Po", "CNT (6,0)" -> "CNT_6_0")."""
    return re.sub(r"\W+", "_", name).strip("_")
