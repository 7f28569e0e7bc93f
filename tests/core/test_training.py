"""Training-side pieces: cached descriptor sets, defect generator, ONNX export round trip."""

import numpy as np
import pytest
from ase.build import bulk
from numpy.testing import assert_allclose

from ase_arise import ARISEModel, defective_copy, displace_atoms, load_prototypes, remove_atoms
from ase_arise.descriptor import ARISEDescriptor
from ase_arise.training import dataset
from ase_arise.training.export import write_model


def test_pristine_and_protocol_structure_counts():
    assert len(dataset.base_structures()) == 396  # x 99 settings = 39,204, the paper's count
    assert len(dataset.base_structures(periodic_supercells=True)) == 588  # x 10 = 5,880 / level
    assert len(dataset.R_CUTS) * len(dataset.SIGMAS) * len(dataset.SCALINGS) == 99
    assert len(dataset.PROTOCOL_LEVELS) == 21


def test_descriptor_sets_are_deterministic_and_cached(tmp_path):
    structures = dataset.base_structures(periodic_supercells=True)[:4]
    jobs = [[(4.0, 0.1, 1.0, 0.02, 0.1, 0.0, dataset._seed(9, c, s, 0.02, 0.1, r), r)
             for r in range(2)]
            for s, (c, _, _) in enumerate(structures)]
    one = dataset._build({"test": 1}, structures, jobs, tmp_path / "a", 1, False, "test set")
    two = dataset._build({"test": 1}, structures, jobs, tmp_path / "b", 2, False, "test set")
    assert_allclose(one.X, two.X, atol=0)
    assert one.sha256() == two.sha256() and one.X.shape == (8, 316)
    assert list(one.info["realisation"]) == [0, 1] * 4
    assert np.abs(one.X[0] - one.X[1]).max() > 0  # realisations differ
    cached = dataset._build({"test": 1}, structures, jobs, tmp_path / "a", 1, False, "test set")
    assert_allclose(cached.X, one.X, atol=0)
    assert (tmp_path / "a" / f"test_set-{one.key}.npz").exists()


def test_defect_generator():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(5)
    before = atoms.positions.copy()
    fewer = remove_atoms(atoms, 0.3, random_state=1)
    assert len(fewer) == 350 and np.array_equal(atoms.positions, before)
    moved = displace_atoms(atoms, 0.1, random_state=1)
    shift = np.abs(moved.positions - atoms.positions)
    assert shift.max() <= 0.1 * 3.6 / np.sqrt(2) + 1e-12 and shift.max() > 0.2
    a = defective_copy(atoms, displacement=0.01, missing=0.05, random_state=3)
    b = defective_copy(atoms, displacement=0.01, missing=0.05, random_state=3)
    assert np.array_equal(a.positions, b.positions) and len(a) == 475
    with pytest.raises(ValueError, match="'missing' parameter"):
        remove_atoms(atoms, 1.5)


def test_export_round_trip(tmp_path):
    """Random weights -> ONNX + metadata -> ARISEModel; T=1 with dropout 0 equals numpy."""
    rng = np.random.default_rng(0)
    widths = (316, 256, 512, 256, 108)
    weights = [rng.normal(0, 0.05, (widths[k], widths[k + 1])) for k in range(4)]
    biases = [rng.normal(0, 0.05, widths[k + 1]) for k in range(4)]
    prototypes = load_prototypes()
    path = tmp_path / "model.onnx"
    write_model(weights, biases, 0.0, path, {
        "class_set": "arise-108", "classes": [p.key for p in prototypes],
        "class_names": [p.name for p in prototypes],
        "descriptor": ARISEDescriptor().parameters(), "n_samples_default": 5, "log_base": 2})
    model = ARISEModel(path)
    X = rng.random((3, 316))
    h = X
    for k in range(4):
        h = h @ weights[k] + biases[k]
        h = np.maximum(h, 0) if k < 3 else h
    expected = np.exp(h - h.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    prediction = model.predict(X, random_state=0)
    assert prediction.n_samples == 5
    assert_allclose(prediction.probabilities, expected, rtol=1e-4, atol=1e-6)
    assert_allclose(prediction.mutual_information, 0.0, atol=1e-5)  # no dropout: no spread


def test_training_smoke(tmp_path):
    torch = pytest.importorskip("torch")
    from ase_arise.training.train import fit, stratified_split, weights_of

    y = np.repeat(np.arange(4), 10)
    train, test = stratified_split(y, 0.2, random_state=42)
    assert len(test) == 8 and all((y[test] == c).sum() == 2 for c in range(4))
    X = np.random.default_rng(0).normal(size=(40, 316)).astype(np.float32) + y[:, None]
    network, history = fit(X[train], y[train], X[test], y[test], epochs=3, log=lambda _: None)
    assert len(history) == 3 and isinstance(network, torch.nn.Sequential)
    assert [w.shape for w in weights_of(network)[0]] == [(316, 256), (256, 512), (512, 256),
                                                         (256, 108)]
