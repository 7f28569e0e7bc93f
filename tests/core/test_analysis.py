"""Unsupervised analysis of ARISE's hidden representations (paper Fig. 2d-g, 3d, 4b)."""

import matplotlib
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from matplotlib.colors import to_rgba
from scipy.spatial import cKDTree

from ase_arise import (
    Clustering,
    box_representations,
    cluster,
    cosine_similarity,
    embed,
    similarity_matrix,
    spm,
)
from ase_arise.analysis import (
    cluster_colors,
    plot_atom_clusters,
    plot_similarity,
    soft_membership,
    umap_available,
)
from ase_arise.errors import InputError, IsolatedAtomsWarning

matplotlib.use("Agg")


def blobs(centres, n=40, scale=0.3, width=8, random_state=0):
    """Gaussian blobs in ``width`` dimensions around the given centres (first coordinates)."""
    rng = np.random.default_rng(random_state)
    points = [rng.normal(0.0, scale, (n, width)) + np.pad(np.asarray(c, dtype=float),
                                                          (0, width - len(c)))
              for c in centres]
    return np.concatenate(points), np.repeat(np.arange(len(centres)), n)


def two_clusters():
    """Two fcc clusters 40 Å apart: the boxes between them hold no atoms (no prediction)."""
    left = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4)
    right = left.copy()
    right.positions += [40.0, 0.0, 0.0]
    sample = left + right
    sample.pbc = False
    return sample


@pytest.fixture(scope="module")
def sparse_scan():
    with pytest.warns(IsolatedAtomsWarning):
        result = spm(two_clusters(), box=12.0, stride=6.0, n_samples=20, tolerance=None,
                     keep_descriptors=True)
    assert 0 < result.valid.sum() < len(result.centres)
    return result


def test_spm_keeps_descriptors_only_when_asked(sparse_scan, model):
    plain = spm(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), box=10.0, stride=7.0,
                n_samples=10)
    assert plain.descriptors is None
    descriptors = sparse_scan.descriptors
    assert descriptors.shape == (len(sparse_scan.centres), 316)
    assert np.isnan(descriptors[~sparse_scan.valid]).all()
    # the kept descriptors are what was classified
    again = model.predict(descriptors[sparse_scan.valid], n_samples=20, random_state=0)
    assert np.allclose(again.probabilities, sparse_scan.probabilities[sparse_scan.valid],
                       atol=1e-6)
    with pytest.raises(TypeError, match="'keep_descriptors'"):
        spm(two_clusters(), box=12.0, stride=6.0, keep_descriptors="yes")


@pytest.mark.parametrize("layer, width", [(1, 256), (2, 512), (3, 256)])
def test_box_representations_are_the_models_hidden_layers(sparse_scan, layer, width, model):
    valid = sparse_scan.valid
    before = box_representations(sparse_scan, layer=layer)
    assert before.shape == (len(valid), width) and before.dtype == np.float32
    assert np.isnan(before[~valid]).all()
    expected = model.representations(sparse_scan.descriptors[valid], layer=layer)
    assert np.array_equal(before[valid], expected)
    after = box_representations(sparse_scan, layer=layer, activation=True)
    assert np.array_equal(after[valid], np.maximum(expected, 0))
    assert (before[valid] < 0).any()


def test_box_representations_need_descriptors(sparse_scan):
    plain = spm(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4), box=10.0, stride=7.0,
                n_samples=10)
    with pytest.raises(InputError, match="keep_descriptors=True"):
        box_representations(plain)
    with pytest.raises(InputError, match="'layer'"):
        box_representations(sparse_scan, layer=4)
    with pytest.raises(TypeError, match="'activation'"):
        box_representations(sparse_scan, activation=1)


def test_hdbscan_finds_blobs_and_skips_missing_rows():
    X, truth = blobs([[0.0], [6.0], [0.0, 6.0]])
    X[5] = np.nan
    result = cluster(X, min_cluster_size=15)
    assert isinstance(result, Clustering)
    assert result.n_clusters == 3 and result.min_cluster_size == 15
    assert result.min_samples == 15 and result.soft_threshold is None
    assert not result.valid[5] and result.labels[5] == -1 and np.isnan(result.strength[5])
    found = result.labels[result.valid & (result.labels >= 0)]
    expected = truth[result.valid & (result.labels >= 0)]
    for k in range(3):  # each blob is one cluster
        assert len(np.unique(found[expected == k])) == 1
    assert result.sizes().sum() + result.outliers.sum() == result.valid.sum()
    assert "3 clusters" in repr(result)
    # a fraction resolves against the valid rows: 0.1 of 119
    assert cluster(X, min_cluster_size=0.1).min_cluster_size == 12


def test_take_maps_rows_and_missing_indices():
    result = cluster(blobs([[0.0], [6.0]])[0], min_cluster_size=10)
    index = np.array([0, -1, 79])
    assert np.array_equal(result.take(index), [result.labels[0], -1, result.labels[79]])


def test_soft_membership_counts_neighbours_per_cluster():
    X, _ = blobs([[0.0], [6.0]], n=30)
    labels = np.repeat([0, 1], 30)
    labels[:5] = -1  # noise points inside blob 0
    membership = soft_membership(X, labels, n_neighbors=10)
    assert membership.shape == (60, 2)
    assert (membership.sum(axis=1) <= 1 + 1e-12).all()
    assert np.allclose(membership[30:], [0.0, 1.0])
    assert (membership[:5, 0] > 0.5).all()  # noise inside a blob mostly has its neighbours


def test_soft_threshold_reassigns_noise_inside_clusters():
    X, truth = blobs([[0.0], [6.0]], n=60)
    halo, _ = blobs([[0.0]], n=8, scale=1.0, random_state=2)  # sparse fringe of blob 0
    group, _ = blobs([[0.0, 15.0]], n=12, scale=0.5, random_state=1)  # too small a cluster
    X = np.vstack([X, halo, group])
    hard = cluster(X, min_cluster_size=20, min_samples=20)
    soft = cluster(X, min_cluster_size=20, min_samples=20, soft_threshold=0.5)
    assert hard.n_clusters == soft.n_clusters == 2
    assert soft.membership.shape == (len(X), 2)
    assert hard.outliers[120:128].any() and not soft.outliers[:128].any()
    assert (soft.labels[120:128] == soft.labels[0]).all()  # the halo joins blob 0
    assert hard.outliers[128:].all() and soft.outliers[128:].all()  # the group stays out
    assert np.allclose(soft.strength[soft.valid], soft.membership[soft.valid].max(axis=1))
    for k in range(2):
        assert len(np.unique(soft.labels[:120][truth == k])) == 1


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(min_cluster_size=1), InputError, "'min_cluster_size'"),
    (dict(min_cluster_size=1.0), InputError, "'min_cluster_size'"),
    (dict(min_cluster_size="5"), TypeError, "'min_cluster_size'"),
    (dict(min_samples=0), InputError, "'min_samples'"),
    (dict(soft_threshold=0.0), InputError, "'soft_threshold'"),
    (dict(soft_threshold=1.5), InputError, "'soft_threshold'"),
    (dict(metric=2), TypeError, "'metric'"),
    (dict(min_cluster_size=200), InputError, "too few"),
])
def test_cluster_rejects_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        cluster(blobs([[0.0], [6.0]])[0], **kwargs)


def test_cluster_rejects_bad_shapes():
    with pytest.raises(InputError, match="2D array"):
        cluster(np.zeros(10))


@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_embedding_keeps_blobs_apart_and_is_reproducible(method):
    X, truth = blobs([[0.0], [6.0], [0.0, 6.0]], n=30)
    X[3] = np.nan
    first = embed(X, method=method, n_neighbors=30, random_state=1)
    assert first.method == method and first.coordinates.shape == (90, 2)
    assert np.isnan(first.coordinates[3]).all() and first.valid.sum() == 89
    assert np.array_equal(first.coordinates[first.valid],
                          embed(X, method=method, n_neighbors=30,
                                random_state=1).coordinates[first.valid])
    xy = first.coordinates[first.valid]
    _, near = cKDTree(xy).query(xy, k=2)
    assert np.mean(truth[first.valid][near[:, 1]] == truth[first.valid]) > 0.95


@pytest.mark.skipif(umap_available(), reason="umap-learn is installed: auto takes UMAP")
def test_auto_embedding_falls_back_to_tsne_without_umap():
    X, _ = blobs([[0.0], [6.0]], n=20)
    assert embed(X).method == "tsne"
    with pytest.raises(InputError, match=r"\[umap\]"):
        embed(X, method="umap")


def test_umap_branch():
    pytest.importorskip("umap")  # the optional extra; its first call compiles for ~45 s
    X, truth = blobs([[0.0], [6.0]], n=30)
    result = embed(X, method="auto", n_neighbors=15, random_state=0)
    assert result.method == "umap" and result.coordinates.shape == (60, 2)
    xy = result.coordinates
    _, near = cKDTree(xy).query(xy, k=2)
    assert np.mean(truth[near[:, 1]] == truth) > 0.95


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(method="isomap"), InputError, "'method'"),
    (dict(n_neighbors=1), InputError, "'n_neighbors'"),
    (dict(min_dist=-0.1), InputError, "'min_dist'"),
    (dict(random_state=-1), InputError, "'random_state'"),
    (dict(random_state="0"), TypeError, "'random_state'"),
])
def test_embed_rejects_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        embed(blobs([[0.0], [6.0]], n=5)[0], **kwargs)
    with pytest.raises(InputError, match="at least 3"):
        embed(np.zeros((2, 4)), method="pca")


def test_cosine_similarity_by_hand():
    X = np.array([[1.0, 0.0], [1.0, 1.0], [np.nan, 1.0], [0.0, 0.0]])
    S = cosine_similarity(X)
    assert S.shape == (4, 4)
    assert np.isclose(S[0, 1], 1 / np.sqrt(2)) and np.isclose(S[1, 1], 1.0)
    assert np.isnan(S[2]).all() and np.isnan(S[:, 2]).all()
    assert S[3, 0] == 0.0  # a zero vector is like nothing
    assert cosine_similarity(X[:2], X[[1]]).shape == (2, 1)
    with pytest.raises(InputError, match="width"):
        cosine_similarity(X, np.ones((2, 3)))


def test_similarity_matrix_groups_alike_structures():
    """Paper Fig. 3d: structures of one prototype are closer to each other than to others."""
    structures = [bulk("Cu", "fcc", a=3.6), bulk("Al", "fcc", a=4.05),
                  bulk("Fe", "bcc", a=2.87), bulk("W", "bcc", a=3.16),
                  bulk("Si", "diamond", a=5.43)]
    S = similarity_matrix(structures)
    assert S.shape == (5, 5) and np.allclose(S, S.T) and np.allclose(np.diag(S), 1.0)
    assert S[0, 1] > 0.99 and S[2, 3] > 0.99
    assert max(S[0, 2], S[0, 4], S[2, 4]) < 0.9
    relu = similarity_matrix(structures, layer=1, activation=True)
    assert (relu >= -1e-12).all()  # non-negative vectors
    ax = plot_similarity(S, names=["Cu", "Al", "Fe", "W", "Si"])
    assert ax.images[0].get_array().shape == (5, 5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Cu", "Al", "Fe", "W", "Si"]


def test_cluster_colours_mark_outliers_orange():
    colours = cluster_colors([-1, 0, 1, 0])
    assert np.allclose(colours[0], to_rgba("tab:orange"))
    assert np.allclose(colours[1], colours[3]) and not np.allclose(colours[1], colours[2])
    assert not any(np.allclose(c, colours[0]) for c in cluster_colors(np.arange(12)))


def test_plot_atom_clusters_rejects_bad_input():
    atoms = Atoms("Cu2", positions=[[0, 0, 0], [2, 0, 0]])
    with pytest.raises(InputError, match="one per atom"):
        plot_atom_clusters(atoms, [0])
    with pytest.raises(InputError, match="'axes'"):
        plot_atom_clusters(atoms, [0, 0], axes=(0, 0))
