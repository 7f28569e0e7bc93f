"""Clusters of ARISE's hidden representations on the paper's four-grain polycrystal (Fig. 2d-g),
scored against the grains that OVITO's PTM finds."""

import matplotlib
import numpy as np
import pytest
from ase.io import read

from ase_arise import atom_clusters, box_representations, cluster, embed
from ase_arise.analysis import (
    cluster_colors,
    plot_atom_clusters,
    plot_cluster_map,
    plot_embedding,
)
from ase_arise.build import four_grains_path
from ase_arise.errors import InputError
from ase_arise.labels import nearest_boxes
from ovito_arise.benchmarks.clusters import grain_of_cluster, scan, scores
from ovito_arise.benchmarks.grains import (
    GRAIN,
    INTERIOR,
    defective_sample,
    ground_truth,
)

matplotlib.use("Agg")



@pytest.fixture(scope="module")
def truth():
    return ground_truth(read(four_grains_path(), format="xyz"))


@pytest.fixture(scope="module", params=["pristine", "20% missing + 1% shifted"])
def four_grains(request, truth):
    """The sample (pristine or defective), its scan (box 16 Å, stride 4 Å, exact mode), the
    grain of each box and the interior (>= 80 % one grain) and boundary boxes."""
    atoms = truth if request.param == "pristine" else defective_sample(truth, random_state=0)
    result, grains, interior, boundary = scan(atoms, stride=4.0)
    assert result.mode == "exact"
    return atoms, result, grains, interior, boundary


def test_clusters_are_the_four_grains_and_outliers_their_boundaries(four_grains):
    atoms, result, grains, interior, boundary = four_grains
    assert interior.sum() > 300 and boundary.sum() > 70
    clusters = cluster(box_representations(result))  # layer 3, 5 % of the boxes
    found = scores(clusters, grains, interior, boundary)
    assert found["n_clusters"] == found["grains_found"] == 4
    assert found["agreement"] >= 0.9  # measured 0.941, 0.959
    # measured 0.059 / 0.369 and 0.041 / 0.420
    assert found["outliers_boundary"] >= 4 * found["outliers_interior"]
    # paper Fig. 2g: cluster cores are certain, outliers less so
    mi = result.mutual_information
    assert np.median(mi[clusters.outliers]) > np.median(mi[clusters.labels >= 0])
    # per atom: the nearest containing box's cluster
    per_atom = atom_clusters(atoms, result, clusters)
    assert np.array_equal(per_atom, clusters.take(nearest_boxes(
        atoms, result, mi_weight=0.0, order_weight=0.0)))
    inner = atoms.arrays[INTERIOR] == 1
    grain = grain_of_cluster(clusters, grains, interior)
    per_atom_grain = np.array([grain.get(k, -1) for k in per_atom])
    assert np.mean(per_atom_grain[inner] == atoms.arrays[GRAIN][inner]) >= 0.9  # 0.954, 0.959


def test_soft_threshold_keeps_outliers_at_boundaries(four_grains):
    _, result, grains, interior, boundary = four_grains
    X = box_representations(result)
    hard = cluster(X)
    soft = cluster(X, soft_threshold=0.5)
    assert 0 < soft.outliers.sum() < hard.outliers.sum()
    found = scores(soft, grains, interior, boundary)
    assert found["agreement"] >= 0.97  # measured 0.994, 1.0
    assert found["outliers_boundary"] >= 4 * found["outliers_interior"]


def test_four_grain_figures(four_grains):
    atoms, result, _, _, _ = four_grains
    X = box_representations(result)
    clusters = cluster(X)
    xy = embed(X, method="pca")
    names = np.array(result.class_names, dtype=object)[result.class_id]
    names[~result.valid] = None
    for values in (clusters.labels, names, result.mutual_information):
        ax = plot_embedding(xy, values, title="map")
        assert len(ax.collections) >= 1
    legend = [t.get_text() for t in plot_embedding(xy, clusters.labels).get_legend().texts]
    assert legend == ["outlier", "cluster 0", "cluster 1", "cluster 2", "cluster 3"]
    ax = plot_cluster_map(result, clusters)
    image = ax.images[0].get_array()
    assert image.shape == (result.shape[1], result.shape[0], 4)
    empty, full = np.flatnonzero(~result.valid)[0], np.flatnonzero(result.valid)[0]
    i, j, _ = np.unravel_index(empty, result.shape)
    assert np.allclose(image[j, i], (1.0, 1.0, 1.0, 0.0))  # no prediction: transparent
    i, j, _ = np.unravel_index(full, result.shape)
    assert np.allclose(image[j, i], cluster_colors(clusters.labels)[full])
    per_atom = atom_clusters(atoms, result, clusters)
    ax = plot_atom_clusters(atoms, per_atom)
    assert np.allclose(ax.collections[0].get_facecolors(), cluster_colors(
        per_atom[np.argsort(atoms.positions[:, 2])]))
    with pytest.raises(InputError, match="one value per row"):
        plot_embedding(xy, clusters.labels[:-1])
    with pytest.raises(InputError, match="rows but the scan"):
        atom_clusters(atoms, result, cluster(X[:-1]))
