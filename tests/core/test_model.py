"""The shipped model (its graph in onnxruntime as the oracle) and classify(): verification, MC dropout, generalisation."""

import hashlib
import json
import shutil

import numpy as np
import onnx
import onnxruntime
import pytest
from ase import Atoms
from ase.build import bulk
from numpy.testing import assert_allclose
from onnx import numpy_helper

from ase_arise import (
    ARISEModel,
    InputError,
    ModelError,
    classify,
    defective_copy,
    descriptor,
    load_prototypes,
    representations,
)
from ase_arise.model import default_model_path
from ase_arise.model.mlp import read_initializers

PROTOTYPES = load_prototypes()


@pytest.fixture(scope="module")
def model():
    return ARISEModel()


@pytest.fixture(scope="module")
def some_descriptors():
    structures = [bulk("Cu", "fcc", a=3.6), bulk("Fe", "bcc", a=2.87),
                  PROTOTYPES[43].atoms(), PROTOTYPES[106].supercells()[0]]
    return descriptor(structures)


def test_metadata_matches_the_package(model):
    meta = model.metadata
    assert meta["classes"] == [p.key for p in PROTOTYPES]
    assert meta["class_names"] == [p.name for p in PROTOTYPES]
    assert meta["descriptor"]["r_cut"] == 4.0 and meta["descriptor"]["sigma"] == 0.1
    assert model.widths == (316, 256, 512, 256, 108)
    assert model.dropout == pytest.approx(0.0317)
    assert len(meta["training"]["pristine_sha256"]) == 64
    assert meta["metrics"]["val_accuracy"] > 0.99


def test_graph_is_the_mlp(model, some_descriptors):
    """With all masks one the ONNX graph equals a plain numpy forward pass of its weights, and
    this package's reader of the weights equals onnx's."""
    graph = onnx.load(str(model.path)).graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    read = read_initializers(model.path.read_bytes())
    assert set(read) == {k for k, v in weights.items() if v.dtype == np.float32}
    for name, array in read.items():
        assert array.dtype == np.float32 and np.array_equal(array, weights[name])
    h = some_descriptors.astype(np.float32)
    for k in range(4):
        h = h @ weights[f"W_{k}"] + weights[f"b_{k}"]
        if k < 3:
            pre = h
            h = np.maximum(h, 0)
            assert_allclose(model.representations(some_descriptors, layer=k + 1), pre,
                            rtol=1e-4, atol=1e-4)
    expected = np.exp(h - h.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    ones = {f"mask_{k}": np.ones((1, w), dtype=np.float32) for k, w in enumerate(model.widths[:-1])}
    (p,) = _session(model).run(["probabilities"], {"descriptors": some_descriptors.astype(
        np.float32), **ones})
    assert_allclose(p[0], expected, rtol=1e-4, atol=1e-6)


def _session(model):
    return onnxruntime.InferenceSession(model.path.read_bytes(),
                                        providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("tolerance", [None, 0.01])
def test_mc_dropout_passes_equal_the_graph_in_onnxruntime(model, tolerance):
    """predict() (DropoutMLP: shared input product, fused kernels) against the shipped graph
    run by onnxruntime on the same masks: mean probabilities, entropy, MI; also with
    adaptive sampling, whose passes per input are replayed through the graph."""
    rng = np.random.default_rng(7)
    X = np.concatenate([descriptor(defective_copy(PROTOTYPES[k].supercells(min_atoms=60)[0],
                                                  displacement=0.04, random_state=k))[None]
                        for k in range(0, 108, 9)] + [rng.random((20, 316))])
    result = model.predict(X, n_samples=40, random_state=11, tolerance=tolerance)
    masks = model.masks(40, 11)
    (p,) = _session(model).run(["probabilities"], {
        "descriptors": X.astype(np.float32), **{f"mask_{k}": m for k, m in enumerate(masks)}})
    p = p.astype(np.float64)
    entropy = -(p * np.log2(np.clip(p, 1e-300, 1))).sum(axis=-1)
    assert (result.passes < 40).any() if tolerance else (result.passes == 40).all()
    for i, t in enumerate(result.passes):
        mean = p[:t, i].mean(axis=0)
        h = -(mean * np.log2(np.clip(mean, 1e-300, 1))).sum()
        assert_allclose(result.probabilities[i], mean, atol=2e-6)
        assert result.entropy[i] == pytest.approx(h, abs=2e-5)
        assert result.mutual_information[i] == pytest.approx(max(h - entropy[:t, i].mean(), 0),
                                                             abs=2e-5)


def test_a_graph_other_than_the_mlp_is_refused(tmp_path):
    """The load check runs the graph in onnxruntime against the weights read from it: a graph
    with the same inputs, outputs and weights but another activation is refused."""
    path = _copy_model(tmp_path)
    graph = onnx.load(str(path))
    for node in graph.graph.node:
        if node.op_type == "Relu":
            node.op_type = "Sigmoid"
    _rewrite(path, graph)
    with pytest.raises(ModelError, match="not the MC-dropout MLP"):
        ARISEModel(path)


def _rewrite(path, graph):
    """Write an edited graph over the model copy at ``path``, its record matching it."""
    data = graph.SerializeToString()
    path.write_bytes(data)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta.pop("metadata_sha256")
    meta["onnx_sha256"] = hashlib.sha256(data).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(meta))


def test_a_graph_without_the_named_weights_is_refused(tmp_path):
    """A valid graph whose weight W_1 has another name: onnxruntime loads it, this package
    cannot evaluate it and says so."""
    path = _copy_model(tmp_path)
    graph = onnx.load(str(path))
    for tensor in graph.graph.initializer:
        if tensor.name == "W_1":
            tensor.name = "weights_1"
    for node in graph.graph.node:
        node.input[:] = ["weights_1" if name == "W_1" else name for name in node.input]
    _rewrite(path, graph)
    with pytest.raises(ModelError, match="no weights W_1 of shape"):
        ARISEModel(path)


def test_mc_dropout_is_reproducible_and_seeded(model, some_descriptors):
    a = model.predict(some_descriptors, n_samples=50, random_state=3)
    b = model.predict(some_descriptors, n_samples=50, random_state=3, batch_size=1)
    c = model.predict(some_descriptors, n_samples=50, random_state=4)
    assert_allclose(a.probabilities, b.probabilities, atol=1e-7)
    assert_allclose(a.mutual_information, b.mutual_information, atol=1e-7)
    assert np.abs(a.probabilities - c.probabilities).max() > 0
    assert_allclose(a.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (a.mutual_information >= 0).all() and (a.entropy <= np.log2(108) + 1e-9).all()
    assert (a.mutual_information <= a.entropy + 1e-9).all()


@pytest.mark.parametrize("tolerance", [None, 0.01])
def test_predictions_do_not_depend_on_the_thread_count(some_descriptors, tolerance):
    """Work items (a batch x 10 passes) of one BLAS thread each, summed in pass order: 1, 2
    and 3 threads give the same bits, for few inputs (items of passes) and many (of rows)."""
    many = np.repeat(some_descriptors, 150, axis=0) * np.linspace(0.9, 1.1, 600)[:, None]
    for x in (some_descriptors, many):
        runs = [ARISEModel(n_threads=n).predict(x, n_samples=40, random_state=3,
                                                 tolerance=tolerance) for n in (1, 2, 3)]
        for other in runs[1:]:
            np.testing.assert_array_equal(other.probabilities, runs[0].probabilities)
            np.testing.assert_array_equal(other.mutual_information,
                                          runs[0].mutual_information)
            np.testing.assert_array_equal(other.passes, runs[0].passes)


def test_uncertainty_grows_with_disorder(model):
    crystal = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(5)
    crystal.pbc = False
    rng = np.random.default_rng(0)
    melt = crystal.copy()
    melt.positions += rng.uniform(-0.6, 0.6, melt.positions.shape)  # ~25 % of d_NN
    calm, noisy = (model.predict(descriptor(s), n_samples=200, random_state=0)
                   for s in (crystal, melt))
    assert noisy.mutual_information[0] > 5 * calm.mutual_information[0]


# --- verification on load ------------------------------------------------------------------

def _copy_model(tmp_path):
    source = default_model_path()
    target = tmp_path / source.name
    shutil.copy(source, target)
    shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    return target


def test_model_verification_errors(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        ARISEModel(tmp_path / "nothing.onnx")
    path = _copy_model(tmp_path)
    meta = json.loads(path.with_suffix(".json").read_text())
    edited = dict(meta, n_samples_default=7)
    path.with_suffix(".json").write_text(json.dumps(edited))
    with pytest.raises(ModelError, match="do not match its checksum"):
        ARISEModel(path)
    meta.pop("metadata_sha256")  # files written before 0.2.0 have none: the other checks stay
    tampered = dict(meta, onnx_sha256="0" * 64)
    path.with_suffix(".json").write_text(json.dumps(tampered))
    with pytest.raises(ModelError, match="Checksum mismatch"):
        ARISEModel(path)
    shuffled = dict(meta, classes=meta["classes"][::-1])
    path.with_suffix(".json").write_text(json.dumps(shuffled))
    with pytest.raises(ModelError, match="class list"):
        ARISEModel(path)
    no_descriptor = {k: v for k, v in meta.items() if k != "descriptor"}
    path.with_suffix(".json").write_text(json.dumps(no_descriptor))
    with pytest.raises(ModelError, match="'descriptor'"):
        ARISEModel(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="metadata .* is missing"):
        ARISEModel(path)


# --- classify ------------------------------------------------------------------------------

def _random_strain(atoms, prototype, rng):
    """Random diagonal strain of up to 3 % per axis; nanotubes along their axis only."""
    strained = atoms.copy()
    if prototype.is_periodic:
        strain = np.diag(1 + rng.uniform(-0.03, 0.03, 3))
        strained.set_cell(atoms.cell[:] @ strain, scale_atoms=True)
    else:
        strained.positions[:, 2] *= 1 + rng.uniform(-0.01, 0.01)
    return strained


@pytest.mark.parametrize("variant", [
    "rotated", "larger supercell", "scaled",
    pytest.param("strained", marks=pytest.mark.xfail(strict=True, reason=(
        "known limitation of the shipped model (trained without strain): a random diagonal "
        "strain of up to 3 % turns dhcp into alpha-Sm in this draw. Strain augmentation was "
        "measured and not shipped (docs/DECISIONS.md)"))),
])
def test_all_prototypes_recognised_in_unseen_forms(variant):
    """100 % top-1 on inputs never seen as such: rotated, isotropically strained (scaled by up
    to +-3 %), anisotropically strained, larger supercells."""
    rng = np.random.default_rng({"rotated": 1, "strained": 2, "larger supercell": 3,
                                 "scaled": 4}[variant])
    structures = []
    for prototype in PROTOTYPES:
        atoms = prototype.atoms() if prototype.is_periodic else prototype.supercells()[0]
        if variant == "rotated":
            atoms.rotate(rng.uniform(0, 360), rng.normal(size=3), rotate_cell=True)
        elif variant == "strained":
            atoms = _random_strain(atoms, prototype, rng)
        elif variant == "scaled":
            scale = 1 + rng.uniform(-0.03, 0.03)
            atoms.positions *= scale
            atoms.set_cell(atoms.cell[:] * scale)
        elif prototype.is_periodic:
            atoms = prototype.supercells(n=4)[-1]
        else:
            atoms = prototype.supercells(min_atoms=200)[0]
        structures.append(atoms)
    predicted = [result.class_id for result in classify(structures, n_samples=30)]
    wrong = [(PROTOTYPES[i].name, PROTOTYPES[p].name) for i, p in enumerate(predicted) if p != i]
    assert wrong == []


@pytest.mark.parametrize("element, structure, a, expected", [
    ("Al", "fcc", 4.05, "fcc"), ("Ni", "fcc", 3.52, "fcc"), ("W", "bcc", 3.16, "bcc"),
    ("Ti", "hcp", 2.95, "hcp"), ("Si", "diamond", 5.43, "diamond"),
])
def test_other_lattice_constants(element, structure, a, expected):
    atoms = bulk(element, structure, a=a, **({"c": 1.59 * a} if structure == "hcp" else {}))
    result = classify(atoms)
    assert result.name == expected and result.probability > 0.95


def test_defective_structures():
    rng = np.random.default_rng(5)
    fcc = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(5)
    damaged = defective_copy(fcc, missing=0.3, displacement=0.05, random_state=rng)
    damaged.pbc = False
    result = classify(damaged)
    assert result.name == "fcc"
    assert result.top_k[0][0] == "fcc" and len(result.top_k) == 3
    assert "fcc" in repr(result) and "MI=" in repr(result)


def test_classify_inputs_and_reproducibility(tmp_path):
    structures = [bulk("Cu", "fcc", a=3.6), bulk("Fe", "bcc", a=2.87)]
    from ase.io import write

    write(tmp_path / "frames.extxyz", structures)
    import ase.db

    with ase.db.connect(tmp_path / "set.db") as db:
        for atoms in structures:
            db.write(atoms)
    for source in (structures, tmp_path / "frames.extxyz", str(tmp_path / "set.db")):
        assert [r.name for r in classify(source, progress=True)] == ["fcc", "bcc"]
    first, again = classify(structures[0], random_state=7), classify(structures[0], random_state=7)
    assert_allclose(first.probabilities, again.probabilities)
    assert len(classify(structures[0], top_k=5).top_k) == 5
    assert representations(structures, layer=2).shape == (2, 512)


def test_classify_bad_input():
    with pytest.raises(InputError, match="empty"):
        classify(Atoms())
    with pytest.raises(InputError, match="isolated cluster of 1 atom"):
        classify(Atoms("Cu", positions=[(0, 0, 0)]))
    with pytest.raises(TypeError, match="'top_k' parameter"):
        classify(bulk("Cu", "fcc", a=3.6), top_k=1.5)
    with pytest.raises(TypeError, match="'model' parameter"):
        classify(bulk("Cu", "fcc", a=3.6), model=42)
    with pytest.raises(ModelError, match="does not exist"):
        classify(bulk("Cu", "fcc", a=3.6), model="missing.onnx")
    with pytest.raises(FileNotFoundError):
        classify("no-such-file.xyz")
    with pytest.raises(TypeError, match="random_state"):
        classify(bulk("Cu", "fcc", a=3.6), random_state="seed")
