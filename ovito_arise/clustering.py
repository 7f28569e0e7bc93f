"""The "ARISE clustering" modifier: grains and boundaries without labels, in OVITO pipelines.

A thin adapter over :mod:`ase_arise.analysis` (paper Fig. 2d): the particles become an
``ase.Atoms``, strided pattern matching describes every box, the network's hidden-layer
representations of the boxes are clustered with HDBSCAN, and each particle takes the cluster
of its box (the nearest box centre that contains it, as for "ARISE Structure Type"):

"ARISE Cluster"
    Cluster 0, 1, ...; -1 for outliers (grain boundaries, the sample's border), for particles
    in no box with enough particles and for particles left out ("Use only selected").
"ARISE Cluster Membership"
    HDBSCAN's membership strength of the particle's box (0-1), or its soft membership with a
    soft threshold.

plus the data table "arise-clusters" (particles per cluster, -1 the outliers) and the
attributes "ARISE.clusters.count", "ARISE.clusters.outliers" (particles),
"ARISE.clusters.min_cluster_size" (boxes) and "ARISE.boxes". The box descriptors are cached per
frame: changing the layer or a clustering parameter re-clusters in a fraction of a second
without a new scan. A second modifier rather than options on "ARISE classification"
(docs/DECISIONS.md): it needs no MC-dropout passes, and keeps both panels short.
"""

import numpy as np
from ovito.data import DataTable
from ovito.pipeline import ModifierInterface
from ovito.traits import FilePath
from traits.api import Bool, Enum, Range

from ase_arise.analysis import box_representations, cluster, cluster_colors
from ase_arise.classify import load_model
from ase_arise.errors import AriseError
from ase_arise.labels import nearest_boxes
from ase_arise.spm import MODES, box_grid, iter_match_boxes

from .modifier import (SPECIES, ARISEModifierError, cached_per_frame, check_predictions,
                       particles_as_atoms, relay_progress)

CLUSTER_PROPERTY = "ARISE Cluster"
MEMBERSHIP_PROPERTY = "ARISE Cluster Membership"
TABLE = "arise-clusters"


class ARISEClusteringModifier(ModifierInterface):
    """Clusters of the network's representations of SPM boxes, mapped onto the particles.

    Parameters (traits; GUI labels in brackets)
    ----------
    box : float, default=16.0
        ["Box size (Å)"] SPM box edge, Å.
    stride : float, default=4.0
        ["Stride (Å)"] step between box centres, Å.
    mode : {"auto", "fast", "exact"}, default="auto"
        ["Box descriptors"] see :mod:`ase_arise.spm`.
    min_atoms : int, default=50
        ["Minimum particles per box"] sparser boxes are left out (their particles get -1).
    species : {"particle types", "geometry only"}, default="particle types"
        ["Species"] as in "ARISE classification".
    only_selected : bool, default=False
        ["Use only selected particles"] the others are left out and get -1.
    model_path : str, default=""
        ["Model file (.onnx; empty: shipped model)"].
    layer : int, default=3
        ["Hidden layer"] 1, 2 or 3.
    activation : bool, default=False
        ["After the ReLU"] representations after the activation instead of before it.
    min_cluster_size : float, default=0.05
        ["Minimum cluster size (fraction of boxes)"] HDBSCAN's smallest cluster.
    min_samples : int, default=0
        ["Density neighbours (0: as cluster size)"] HDBSCAN's min_samples.
    soft_threshold : float, default=0.0
        ["Soft membership threshold (0: off)"] > 0: outliers join the cluster most of their
        neighbours belong to, unless that share is below the threshold
        (:func:`ase_arise.analysis.cluster`).
    color_by_cluster : bool, default=True
        ["Color particles by cluster"] write the cluster colours (outliers orange) to "Color".

    Changing ``layer``, ``activation`` or a clustering parameter re-uses the cached boxes.
    """

    box = Range(low=1.0, high=1000.0, value=16.0, label="Box size (Å)")
    stride = Range(low=0.1, high=1000.0, value=4.0, label="Stride (Å)")
    mode = Enum(*MODES, label="Box descriptors")
    min_atoms = Range(low=1, high=1_000_000, value=50, label="Minimum particles per box")
    species = Enum(*SPECIES, label="Species")
    only_selected = Bool(False, label="Use only selected particles")
    model_path = FilePath("", label="Model file (.onnx; empty: shipped model)")
    layer = Range(low=1, high=3, value=3, label="Hidden layer", ovito_invalidate_cache=False)
    activation = Bool(False, label="After the ReLU", ovito_invalidate_cache=False)
    min_cluster_size = Range(low=0.001, high=0.999, value=0.05,
                             label="Minimum cluster size (fraction of boxes)",
                             ovito_invalidate_cache=False)
    min_samples = Range(low=0, high=1_000_000, value=0,
                        label="Density neighbours (0: as cluster size)",
                        ovito_invalidate_cache=False)
    soft_threshold = Range(low=0.0, high=1.0, value=0.0,
                           label="Soft membership threshold (0: off)",
                           ovito_invalidate_cache=False)
    color_by_cluster = Bool(True, label="Color particles by cluster",
                            ovito_invalidate_cache=False)

    def modify(self, data, *, frame=0, data_cache=None, **kwargs):
        """Cluster the particles of ``data`` (OVITO calls this; a generator reporting progress)."""
        try:
            model = load_model(self.model_path.strip() or None)
            atoms, members = particles_as_atoms(data, only_selected=self.only_selected,
                                                species=self.species)
            boxes = yield from cached_per_frame(data_cache, "ARISE.clustering", frame,
                                                lambda: self._describe(atoms, model))
            yield "ARISE clustering: HDBSCAN"
            clusters = cluster(
                box_representations(boxes["result"], layer=self.layer,
                                    activation=self.activation, model=model),
                min_cluster_size=self.min_cluster_size, min_samples=self.min_samples or None,
                soft_threshold=self.soft_threshold or None)
            self._output(data, members, boxes, clusters)
        except AriseError as error:
            raise ARISEModifierError(str(error)) from None

    def _describe(self, atoms, model):
        """Describe the SPM boxes (descriptors kept), relaying progress; returns the cache."""
        centres, shape = box_grid(atoms, box=self.box, stride=self.stride)
        # the clusters need the descriptors only: one dropout pass keeps the network's share
        # of the work negligible
        steps = iter_match_boxes(atoms, centres, shape, box=self.box, stride=self.stride,
                                 mode=self.mode, model=model, n_samples=1, tolerance=None,
                                 min_atoms=self.min_atoms, keep_descriptors=True)
        result = yield from relay_progress(steps)
        check_predictions(result)
        return dict(result=result, box_index=nearest_boxes(atoms, result))

    def _output(self, data, members, boxes, clusters):
        """Write the cluster properties, table and attributes."""
        box_index = boxes["box_index"]
        labels = np.full(len(members), -1, dtype=np.int32)
        labels[members] = clusters.take(box_index)
        membership = np.full(len(members), np.nan)
        membership[members] = np.where(box_index >= 0,
                                       clusters.strength[np.maximum(box_index, 0)], np.nan)
        particles = data.particles_
        particles.create_property(CLUSTER_PROPERTY, data=labels)
        particles.create_property(MEMBERSHIP_PROPERTY, data=membership)
        if self.color_by_cluster:
            particles.create_property("Color", data=cluster_colors(labels)[:, :3])

        ids, counts = np.unique(labels, return_counts=True)
        table = data.tables_.create(identifier=TABLE, title="ARISE clusters (-1: outliers)",
                                    plot_mode=DataTable.PlotMode.BarChart)
        table.x = table.create_property("Cluster", data=ids.astype(np.int32))
        table.y = table.create_property("Count", data=counts.astype(np.int64))
        data.attributes["ARISE.clusters.count"] = clusters.n_clusters
        data.attributes["ARISE.clusters.outliers"] = int((labels[members] < 0).sum())
        data.attributes["ARISE.clusters.min_cluster_size"] = clusters.min_cluster_size
        data.attributes["ARISE.boxes"] = len(boxes["result"].centres)
