"""The "ARISE clustering" modifier: grains and boundaries without labels, in OVITO pipelines.

A thin adapter over :mod:`ase_arise.analysis` (paper Fig. 2d): the particles become an
``ase.Atoms``, strided pattern matching describes every box, the network's hidden-layer
representations of the boxes are clustered with HDBSCAN, and each particle takes the cluster
of its box (the nearest box centre that contains it):

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
from traits.api import Bool, Range

from ase_arise.analysis import box_representations, cluster, cluster_colors
from ase_arise.errors import AriseError
from ase_arise.labels import gather, nearest_boxes
from ase_arise.spm import iter_spm

from .scan import ARISEModifierError, ScanModifier, check_predictions, relay_progress

CLUSTER_PROPERTY = "ARISE Cluster"
MEMBERSHIP_PROPERTY = "ARISE Cluster Membership"
TABLE = "arise-clusters"


class ARISEClusteringModifier(ScanModifier):
    """Clusters of the network's representations of SPM boxes, mapped onto the particles.

    Parameters (traits; GUI labels in brackets)
    ----------
    box, stride, mode, min_atoms, species, only_selected, model
        As in :class:`~ovito_arise.scan.ScanModifier` (box and stride in Å); particles left
        out, and those of boxes with too few particles, get -1.
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
    0.1.0's trait name ``model_path`` still works.
    """

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

    def settings(self, **fixed):
        """The :class:`ase_arise.Settings` of the traits: the clusters need the descriptors
        only, so one dropout pass keeps the network's share of the work negligible."""
        return super().settings(n_samples=1, tolerance=None, **fixed)

    def modify(self, data, *, frame=0, data_cache=None, **kwargs):
        """Cluster the particles of ``data`` (OVITO calls this; a generator reporting progress)."""
        settings, members, boxes = yield from self.scan(data, frame, data_cache,
                                                        self._describe)
        yield "ARISE clustering: HDBSCAN"
        try:
            clusters = cluster(
                box_representations(boxes["result"], layer=self.layer,
                                    activation=self.activation, model=settings.network),
                min_cluster_size=self.min_cluster_size, min_samples=self.min_samples or None,
                soft_threshold=self.soft_threshold or None)
        except AriseError as error:
            raise ARISEModifierError(str(error)) from None
        self._output(data, members, boxes, clusters)

    @staticmethod
    def _describe(atoms, settings):
        """Describe the SPM boxes (descriptors kept), relaying progress; returns the cache."""
        result = yield from relay_progress(iter_spm(atoms, settings, keep_descriptors=True))
        check_predictions(result)
        return dict(result=result, box_index=nearest_boxes(atoms, result, mi_weight=0.0,
                                                        order_weight=0.0))

    def _output(self, data, members, boxes, clusters):
        """Write the cluster properties, table and attributes."""
        box_index = boxes["box_index"]
        labels = np.full(len(members), -1, dtype=np.int32)
        labels[members] = clusters.take(box_index)
        membership = np.full(len(members), np.nan)
        membership[members] = gather(clusters.strength, box_index)
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
