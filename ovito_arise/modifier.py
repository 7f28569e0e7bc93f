"""The "ARISE classification" modifier: per-particle ARISE labels in OVITO pipelines.

A thin adapter over :func:`ase_arise.labels.iter_label`: the particles (optionally only the
selected ones) become an ``ase.Atoms``, strided pattern matching labels every atom, and the
results come back as particle properties beside PTM's or CNA's "Structure Type", which they
never overwrite:

"ARISE Structure Type"
    The most probable prototype, as named, coloured types (id 0 "No prediction", id k + 1 the
    model's class k, id n_classes + 1 "Other" (white, as PTM's): no crystal's angular order;
    OVITO's colours for the structures PTM also knows).
"ARISE Anisotropy"
    The Other score of each particle's box (share of its averaged SOAP power in l >= 1).
"ARISE Probability"
    Its probability (0-1).
"ARISE Uncertainty"
    Mutual information of the MC-dropout passes plus the box's disorder (how much less angular
    order it has than the best-ordered boxes of its prototype in the scan), bits (0: certain).
"ARISE Mutual Information"
    The mutual information alone, bits.
"ARISE Top Types", "ARISE Top Probabilities", "ARISE Probabilities"
    When asked for: the k best types (same ids as "ARISE Structure Type") with their
    probabilities, or the probabilities of selected prototypes or of all of them.

plus the data table "arise-structures" (particles per prototype, a bar chart in the GUI) and
the global attributes "ARISE.counts.<prototype>" (with "ARISE.counts.Other" and
"ARISE.counts.No prediction"), "ARISE.mean_uncertainty", "ARISE.model".

OVITO has no units: positions and cell are taken as Å (the box size and stride are in Å too).
The traits shared with "ARISE clustering" (box, stride, species, ...) are those of
:class:`~ovito_arise.scan.ScanModifier`.
"""

import re

import numpy as np
from ovito.data import DataTable, ElementType
from traits.api import Bool, Enum, Range, Str

from ase_arise.errors import AriseError
from ase_arise.labels import gather, iter_label
from ase_arise.model.other import OTHER
from ase_arise.prototypes import class_indices
from ase_arise.settings import DEFAULT_TOLERANCE

from .scan import ARISEModifierError, ScanModifier, check_predictions, relay_progress
from .structure_types import NO_PREDICTION, structure_types

TYPE_PROPERTY = "ARISE Structure Type"
PROBABILITY_PROPERTY = "ARISE Probability"
UNCERTAINTY_PROPERTY = "ARISE Uncertainty"
MUTUAL_INFORMATION_PROPERTY = "ARISE Mutual Information"
ANISOTROPY_PROPERTY = "ARISE Anisotropy"
TOP_TYPES_PROPERTY = "ARISE Top Types"
TOP_PROBABILITIES_PROPERTY = "ARISE Top Probabilities"
PROBABILITIES_PROPERTY = "ARISE Probabilities"
TABLE = "arise-structures"
OUTPUTS = ("none", "top-k", "selected prototypes", "all")

__all__ = ["ARISEModifier", "ARISEModifierError", "NO_PREDICTION"]


class ARISEModifier(ScanModifier):
    """ARISE classification of every particle: prototype, probability and uncertainty.

    Parameters (traits; GUI labels in brackets)
    ----------
    box, stride, mode, min_atoms, species, only_selected, model
        As in :class:`~ovito_arise.scan.ScanModifier` (box and stride in Å; ``model`` ""
        is the shipped model). Particles left out by "Use only selected particles" get type
        "No prediction", as with OVITO's structure identification modifiers.
    per_atom : bool, default=False
        ["One box per particle (slow)"] a box centred on every particle instead of the grid.
    n_samples : int, default=0
        ["MC-dropout passes (at most; 0: the model's)"] 0 takes the model's own default (100
        for the shipped model).
    tolerance : float, default=0.01
        ["Adaptive sampling tolerance"] a box stops sampling once its probabilities and MI
        (bits) move less than this per block of 10 passes; 0 gives every box all passes.
    min_anisotropy : float, default=-1
        ["Other below anisotropy (-1: the model's)"] particles whose box has a lower anisotropy
        are "Other"; -1 takes the model's calibrated threshold, 0 never says Other.
    random_state : int, default=0
        ["Random seed"] of the MC-dropout masks.
    output_probabilities : {"none", "top-k", "selected prototypes", "all"}, default="none"
        ["Output probabilities"]; changing it, ``top_k``, ``prototypes`` or
        ``color_by_type`` re-uses the computed boxes.
    top_k : int, default=3
        ["k (top-k)"].
    prototypes : str, default="fcc, bcc, hcp, diamond"
        ["Selected prototypes (comma-separated)"] names as in :func:`ase_arise.class_names`.
    color_by_type : bool, default=True
        ["Color particles by type"] write the type colours to "Color".

    0.1.0's trait names ``random_seed``, ``per_particle`` and ``model_path`` still work.
    """

    per_atom = Bool(False, label="One box per particle (slow)")
    n_samples = Range(low=0, high=10000, value=0,
                      label="MC-dropout passes (at most; 0: the model's)")
    tolerance = Range(low=0.0, high=1.0, value=DEFAULT_TOLERANCE,
                      label="Adaptive sampling tolerance")
    min_anisotropy = Range(low=-1.0, high=1.0, value=-1.0,
                           label="Other below anisotropy (-1: the model's)")
    random_state = Range(low=0, high=2 ** 31 - 1, value=0, label="Random seed")
    output_probabilities = Enum(*OUTPUTS, label="Output probabilities",
                                ovito_invalidate_cache=False)
    top_k = Range(low=1, high=1000, value=3, label="k (top-k)", ovito_invalidate_cache=False)
    prototypes = Str("fcc, bcc, hcp, diamond", label="Selected prototypes (comma-separated)",
                     ovito_invalidate_cache=False)
    color_by_type = Bool(True, label="Color particles by type", ovito_invalidate_cache=False)

    def settings(self, **fixed):
        """The :class:`ase_arise.Settings` of the traits."""
        return super().settings(per_atom=self.per_atom, n_samples=self.n_samples or None,
                                tolerance=self.tolerance or None,
                                min_anisotropy=(None if self.min_anisotropy < 0
                                                else self.min_anisotropy),
                                random_state=self.random_state, **fixed)

    def modify(self, data, *, frame=0, data_cache=None, **kwargs):
        """Label the particles of ``data`` (OVITO calls this; a generator reporting progress)."""
        settings, members, boxes = yield from self.scan(data, frame, data_cache, self._label)
        try:
            self._output(data, settings.network, members, boxes)
        except AriseError as error:
            raise ARISEModifierError(str(error)) from None

    @staticmethod
    def _label(atoms, settings):
        """Run ase_arise's labelling, relaying its progress to OVITO; returns the SPM result
        and each particle's box."""
        labels = yield from relay_progress(iter_label(atoms, settings, inplace=True))
        check_predictions(labels.spm)
        return dict(result=labels.spm, box_index=labels.box_index)

    def _output(self, data, model, members, boxes):
        """Write properties, table and attributes from the cached box results."""
        names = list(model.class_names)
        result, box_index = boxes["result"], boxes["box_index"]
        type_id = np.zeros(len(members), dtype=np.int32)
        type_id[members] = gather(np.where(result.class_id == OTHER, len(names) + 1,
                                           result.class_id + 1), box_index, 0)
        probability = np.full(len(members), np.nan)
        probability[members] = gather(result.probability, box_index)
        uncertainty, information, anisotropy = (np.full(len(members), np.nan) for _ in range(3))
        uncertainty[members] = gather(result.uncertainty, box_index)
        information[members] = gather(result.mutual_information, box_index)
        anisotropy[members] = gather(result.anisotropy, box_index)

        particles = data.particles_
        types = structure_types(names)
        prop = particles.create_property(TYPE_PROPERTY, data=type_id)
        for element in types:
            prop.types.append(element)
        particles.create_property(PROBABILITY_PROPERTY, data=probability)
        particles.create_property(UNCERTAINTY_PROPERTY, data=uncertainty)
        particles.create_property(MUTUAL_INFORMATION_PROPERTY, data=information)
        particles.create_property(ANISOTROPY_PROPERTY, data=anisotropy)
        if self.color_by_type:
            palette = np.array([t.color for t in types])
            particles.create_property("Color", data=palette[type_id])
        self._output_probabilities(particles, names, members, result, box_index)

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
        data.attributes["ARISE.mode"] = result.mode
        data.attributes["ARISE.boxes"] = len(result.centres)
        data.attributes["ARISE.boxes_with_prediction"] = int(result.valid.sum())

    def _output_probabilities(self, particles, names, members, result, box_index):
        """The optional probability properties (derived from the cached box results)."""
        if self.output_probabilities == "none":
            return
        box_probabilities = result.probabilities
        if self.output_probabilities == "top-k":
            k = min(self.top_k, len(names))
            order = np.argsort(-np.nan_to_num(box_probabilities, nan=-1.0), axis=1)[:, :k]
            top_types = np.zeros((len(members), k), dtype=np.int32)
            top_types[members] = gather(order + 1, box_index, 0)
            top = np.full((len(members), k), np.nan)
            top[members] = gather(np.take_along_axis(box_probabilities, order, axis=1),
                                  box_index)
            components = [str(j + 1) for j in range(k)]
            particles.create_property(TOP_TYPES_PROPERTY, data=top_types,
                                      components=components)
            particles.create_property(TOP_PROBABILITIES_PROPERTY, data=top,
                                      components=components)
            return
        if self.output_probabilities == "all":
            columns = list(range(len(names)))
        else:
            columns = class_indices(self.prototypes, names, parameter="Selected prototypes")
            if not columns:
                raise ARISEModifierError(
                    "'Selected prototypes' is empty: give names such as 'fcc, bcc, hcp', or "
                    "choose another 'Output probabilities'.")
        values = np.full((len(members), len(columns)), np.nan, dtype=np.float32)
        values[members] = gather(box_probabilities[:, columns], box_index)
        particles.create_property(PROBABILITIES_PROPERTY, data=values,
                                  components=[_component_name(names[c]) for c in columns])


def _component_name(name):
    """A prototype name as a property component OVITO's expressions can address
    ("sc (α-Po)" -> "sc_α_Po", "CNT (6,0)" -> "CNT_6_0")."""
    return re.sub(r"\W+", "_", name).strip("_")
