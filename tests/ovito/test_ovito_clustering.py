"""The "ARISE clustering" modifier in real, headless OVITO pipelines."""

from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read
from matplotlib.colors import to_rgba
from ovito.data import DataCollection
from ovito.io import import_file
from ovito.io.ase import ase_to_ovito
from ovito.modifiers import ExpressionSelectionModifier
from ovito.pipeline import Pipeline, StaticSource

from ase_arise import atom_clusters, box_representations, cluster, spm
from ase_arise.build import four_grains_path
from ovito_arise import ARISEClusteringModifier, ARISEModifier, ARISEModifierError

pytestmark = pytest.mark.filterwarnings("ignore::ase_arise.errors.IsolatedAtomsWarning")


def scan(atoms, stride):
    """The boxes of the modifier's grid (box 16 Å) with descriptors; one dropout pass, as the
    clusters need the descriptors only."""
    return spm(atoms, box=16.0, stride=stride, n_samples=1, tolerance=None,
               keep_descriptors=True)


def ase_route(atoms, result, *, layer=3, activation=False, soft_threshold=None):
    """The same analysis with ase_arise alone: per-atom clusters and the clustering."""
    clusters = cluster(box_representations(result, layer=layer, activation=activation),
                       soft_threshold=soft_threshold)
    return atom_clusters(atoms, result, clusters), clusters


@pytest.fixture(scope="module")
def four_grains():
    """The four-grain sample through OVITO's file reader, with the modifier appended (stride
    6 Å, 225 boxes: quick; the grains are scored at 4 Å in test_analysis.py)."""
    pipeline = import_file(str(four_grains_path()))
    modifier = ARISEClusteringModifier(box=16.0, stride=6.0)
    pipeline.modifiers.append(modifier)
    return pipeline, modifier


def test_modifier_is_registered_for_ovito_pro():
    found = {e.name: e.value for e in entry_points(group="OVITO.Modifier")}
    assert found["ARISE clustering"] == "ovito_arise:ARISEClusteringModifier"


def test_readme_documents_every_trait():
    """Its own traits in the README's table; the scan's traits as in "ARISE classification"."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ")]
    traits, shared = ARISEClusteringModifier.class_traits(), ARISEModifier.class_traits()
    for name in ARISEClusteringModifier.class_editable_traits():
        if name in shared:
            assert traits[name].label == shared[name].label, name
        else:
            assert any(f"| {traits[name].label} | `{name}` |" in row for row in rows), name


def test_clusters_match_the_ase_route(four_grains):
    pipeline, modifier = four_grains
    data = pipeline.compute()
    labels = np.asarray(data.particles["ARISE Cluster"])
    atoms = read(four_grains_path(), format="xyz")
    result = scan(atoms, stride=6.0)
    expected, clusters = ase_route(atoms, result)
    assert np.array_equal(labels, expected)
    assert data.attributes["ARISE.clusters.count"] == clusters.n_clusters == 4
    assert data.attributes["ARISE.clusters.outliers"] == int((labels == -1).sum()) > 0
    assert data.attributes["ARISE.clusters.min_cluster_size"] == clusters.min_cluster_size
    assert data.attributes["ARISE.boxes"] == len(result.centres)
    table = data.tables["arise-clusters"]
    assert np.array_equal(table.x[...], [-1, 0, 1, 2, 3])
    assert table.y[...].sum() == len(labels)
    membership = np.asarray(data.particles["ARISE Cluster Membership"])
    assert ((membership[labels >= 0] > 0) & (membership[labels >= 0] <= 1)).all()
    colours = np.asarray(data.particles["Color"])
    assert np.allclose(colours[labels == -1], to_rgba("tab:orange")[:3])

    # clustering parameters re-use the cached boxes and give the ase route's answer
    modifier.layer, modifier.activation, modifier.soft_threshold = 1, True, 0.5
    data = pipeline.compute()
    expected, _ = ase_route(atoms, result, layer=1, activation=True, soft_threshold=0.5)
    assert np.array_equal(np.asarray(data.particles["ARISE Cluster"]), expected)
    assert data.attributes["ARISE.clusters.outliers"] < int((labels == -1).sum())


def test_only_selected_particles_are_clustered():
    pipeline = import_file(str(four_grains_path()))
    pipeline.modifiers.append(ExpressionSelectionModifier(expression="Position.X < 50"))
    pipeline.modifiers.append(ARISEClusteringModifier(box=16.0, stride=8.0, only_selected=True,
                                                      color_by_cluster=False))
    data = pipeline.compute()
    labels = np.asarray(data.particles["ARISE Cluster"])
    atoms = read(four_grains_path(), format="xyz")
    selected = atoms.positions[:, 0] < 50
    assert np.all(labels[~selected] == -1)
    part = atoms[selected]
    expected, clusters = ase_route(part, scan(part, stride=8.0))
    assert clusters.n_clusters >= 2
    assert np.array_equal(labels[selected], expected)
    assert "Color" not in data.particles


def compute_error(source, **settings):
    pipeline = Pipeline(source=StaticSource(data=source))
    pipeline.modifiers.append(ARISEClusteringModifier(**settings))
    with pytest.raises(ARISEModifierError) as error:
        pipeline.compute()
    return str(error.value)


def test_clear_errors():
    crystal = ase_to_ovito(bulk("Cu", "fcc", a=3.6, cubic=True) * 4)  # 14.4 Å, 8 boxes
    assert "No box holds at least 100000" in compute_error(crystal, min_atoms=100000)
    assert "too few" in compute_error(crystal, box=10.0, stride=7.0, min_samples=20)
    bare = DataCollection()
    bare.create_particles(count=0)
    assert "holds no particles" in compute_error(bare)
