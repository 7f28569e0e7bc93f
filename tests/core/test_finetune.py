"""Fine-tuning with user prototypes: a new class (A15 Cr3Si) added to the shipped model, a
replaced class set, bad input; the new models in classify, spm and the calculator (in OVITO:
tests/ovito/test_finetuned_model.py). ``a15_model`` is a session fixture of tests/conftest.py."""

import json

import numpy as np
import onnx
import pytest
import spglib
from ase import Atoms
from ase.build import bulk
from numpy.testing import assert_allclose, assert_array_equal
from onnx import numpy_helper
from sklearn.linear_model import LogisticRegression

from ase_arise import (
    ARISE,
    ARISEModel,
    InputError,
    ModelError,
    classify,
    defective_copy,
    load_prototypes,
    spm,
)
from ase_arise.benchmarks.finetune import cr3si
from ase_arise.model import default_model_path
from ase_arise.prototypes import isotropic_supercells
from ase_arise.training import dataset
from ase_arise.training.finetune import add_classes, fit_output_layer, main

from conftest import A15

PROTOTYPES = load_prototypes()


def initializers(path):
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def test_a15_structure(monkeypatch):
    monkeypatch.setenv("SPGLIB_OLD_ERROR_HANDLING", "false")  # spglib >= 2.5 raises instead
    atoms = cr3si()
    assert atoms.get_chemical_formula() == "Cr6Si2"
    cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
    assert spglib.get_symmetry_dataset(cell).number == 223
    assert classify(atoms).name == "FeSi"  # the shipped model has no A15 class


@pytest.mark.slow
def test_added_class_recognised_and_originals_kept(a15_model):
    """Acceptance: defective A15 copies (5 % missing, 1 % displacement; periodic supercells and
    clusters, seeds disjoint from training) >= 95 % recognised; the 108 prototypes' periodic
    cells and (larger, unseen) supercells keep 100 % top-1."""
    model = ARISEModel(a15_model)
    assert model.classes[-1] == A15 and len(model.classes) == 109
    copies = []
    for realisation in range(4):
        for periodic in (True, False):
            for atoms in isotropic_supercells(cr3si(), periodic=periodic):
                copies.append(defective_copy(atoms, displacement=0.01, missing=0.05,
                                             random_state=np.random.default_rng(
                                                 [777, realisation, len(copies)])))
    results = classify(copies, model=model)
    recognised = np.mean([r.name == A15 for r in results])
    assert recognised >= 0.95
    originals = [p.atoms() if p.is_periodic else p.supercells()[0] for p in PROTOTYPES]
    originals += [p.supercells(n=4)[-1] for p in PROTOTYPES if p.is_periodic]
    truth = list(range(len(PROTOTYPES))) + [p.class_id for p in PROTOTYPES if p.is_periodic]
    predicted = [r.class_id for r in classify(originals, model=model)]
    assert [(model.class_names[t], model.class_names[p])
            for t, p in zip(truth, predicted) if t != p] == []
    print(f"A15 copies recognised: {recognised:.3f} of {len(copies)}")


@pytest.mark.slow
def test_added_model_keeps_the_base_network(a15_model):
    """Only the new output row is fitted: every other weight is the shipped model's, bit for
    bit, and the metadata records base, data, seeds and held-out metrics."""
    new, shipped = initializers(a15_model), initializers(default_model_path())
    for name, value in shipped.items():
        fitted = new[name][..., :value.shape[-1]] if name in ("W_3", "b_3") else new[name]
        assert_array_equal(fitted, value)
    assert new["W_3"].shape == (256, 109) and np.abs(new["W_3"][:, -1]).max() > 0
    meta = json.loads(a15_model.with_suffix(".json").read_text())
    assert meta["class_set"] == "custom" and meta["class_names"][-1] == A15
    training = meta["training"]
    assert training["mode"] == "add" and training["random_state"] == 0
    assert training["base_model"]["onnx_sha256"] == ARISEModel().metadata["onnx_sha256"]
    assert training["fit"]["converged"]
    assert set(training["sets"]) == {"user_pristine", "user_augment", "base_classes",
                                     "base_neighbours"}
    assert training["sets"]["user_pristine"]["n"] == 4 * 99  # cell + 3 clusters, 99 settings
    assert training["sets"]["user_augment"]["n"] == 6 * 22 * 2
    assert "FeSi" in training["base_neighbours"] and len(training["base_neighbours"]) == 5
    metrics = meta["metrics"]
    assert metrics["holdout_accuracy"] >= 0.95 and metrics["base_pristine_accuracy"] == 1.0
    assert min(metrics["holdout_accuracy_neighbours"].values()) == 1.0


def test_replace_mode(tmp_path):
    """A class set of three elemental lattices replaces the 108; the new model works in
    classify, spm and the calculator, and the caller's structures are left as they were."""
    structures = [bulk("Cu", "fcc", a=3.6), [bulk("Fe", "bcc", a=2.87)], bulk("Mg", "hcp")]
    before = structures[0].positions.copy()
    model = add_classes(structures, ["my fcc", "my bcc", "my hcp"], tmp_path / "three.onnx",
                        replace=True, descriptor_settings=[dataset.CENTRAL], realisations=0,
                        random_state=5, n_jobs=1, progress=False)
    assert_array_equal(structures[0].positions, before)
    assert model.classes == ["my fcc", "my bcc", "my hcp"] and model.widths[-1] == 3
    assert model.metadata["training"]["mode"] == "replace"
    assert "base_pristine_accuracy" not in model.metadata["metrics"]
    assert model.metadata["metrics"]["holdout_accuracy"] == 1.0
    with pytest.raises(ModelError, match="108 prototypes"):
        add_classes(structures[:1], ["more"], tmp_path / "more.onnx", model=model)
    damaged = [defective_copy(bulk(*args, cubic=True) * 5, displacement=0.01, missing=0.05,
                              random_state=11)
               for args in (("Ni", "fcc", 3.52), ("W", "bcc", 3.16))]
    results = classify(damaged, model=tmp_path / "three.onnx", top_k=3)
    assert [r.name for r in results] == ["my fcc", "my bcc"]
    assert len(results[0].top_k) == 3 and results[0].probabilities.shape == (3,)
    maps = spm(bulk("Cu", "fcc", a=3.6, cubic=True) * 6, box=12.0, stride=6.0, model=model)
    assert set(np.argmax(maps.probabilities, axis=1)) == {0}
    assert maps.class_names == ("my fcc", "my bcc", "my hcp")
    atoms = bulk("Fe", "bcc", a=2.87, cubic=True) * 4
    atoms.calc = ARISE(model=model)
    assert atoms.calc.get_property("prototype", atoms) == "my bcc"


def test_fit_is_the_regularised_logistic_regression():
    """The convex fit equals scikit-learn's class-balanced multinomial logistic regression (same
    objective) in replace mode, and leaves fixed rows untouched in add mode."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8))
    y = np.repeat([0, 1, 2], [30, 20, 10])
    H = np.abs(centres[y] + rng.normal(scale=1.5, size=(len(y), 8)))
    alpha = 0.05
    fit = fit_output_layer(H, y, np.zeros((8, 3)), np.zeros(3), alpha=alpha)
    reference = LogisticRegression(C=1 / (alpha * len(y)), class_weight="balanced", tol=1e-10,
                                   max_iter=10_000).fit(H, y)
    logits = H @ fit.weights + fit.biases
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert_allclose(p / p.sum(axis=1, keepdims=True), reference.predict_proba(H), atol=1e-4)
    assert fit.record["converged"]
    start_w, start_b = rng.normal(size=(8, 3)), rng.normal(size=3)
    added = fit_output_layer(H, y, start_w, start_b, n_fixed=2, alpha=alpha)
    assert_array_equal(added.weights[:, :2], start_w[:, :2])
    assert_array_equal(added.biases[:2], start_b[:2])


def test_bad_input(tmp_path):
    cu = bulk("Cu", "fcc", a=3.6)
    out = tmp_path / "model.onnx"
    with pytest.raises(InputError, match="No classes"):
        add_classes([], [], out)
    with pytest.raises(InputError, match="unique"):
        add_classes([cu, cu], ["mine", "mine"], out)
    with pytest.raises(InputError, match=r"\['fcc'\] already name classes"):
        add_classes([cu], ["fcc"], out)
    with pytest.raises(FileNotFoundError, match="no-such-file.xyz"):
        add_classes([tmp_path / "no-such-file.xyz"], ["mine"], out)
    with pytest.raises(InputError, match="2 structure entries but 1 names"):
        add_classes([cu, cu], ["mine"], out)
    with pytest.raises(InputError, match="has no structures"):
        add_classes([[]], ["mine"], out)
    with pytest.raises(InputError, match="'mine #1' is empty"):
        add_classes([[cu, Atoms()]], ["mine"], out)
    with pytest.raises(InputError, match="at least two classes"):
        add_classes([cu], ["mine"], out, replace=True)
    with pytest.raises(InputError, match=".onnx file"):
        add_classes([cu], ["mine"], tmp_path / "model.json")
    with pytest.raises(InputError, match="is the base model"):
        add_classes([cu], ["mine"], default_model_path())
    with pytest.raises(TypeError, match="'names' parameter"):
        add_classes([cu], "mine", out)
    with pytest.raises(TypeError, match="'structures' parameter"):
        add_classes(cu, ["mine"], out)
    with pytest.raises(TypeError, match="'random_state' parameter"):
        add_classes([cu], ["mine"], out, random_state=None)
    assert not out.exists()


def test_command_line_errors(tmp_path, capsys):
    status = main([str(tmp_path / "missing.xyz"), "--name", "mine", "--output",
                   str(tmp_path / "m.onnx")])
    error = capsys.readouterr().err
    assert status == 1 and error.count("\n") == 1 and "missing.xyz" in error
    assert main([str(tmp_path / "missing.xyz"), "--name", "fcc", "--output",
                 str(tmp_path / "m.onnx")]) == 1
    assert "already name classes" in capsys.readouterr().err


def test_isotropic_supercells_follow_the_periodic_axes():
    slab = bulk("Cu", "fcc", a=3.6, cubic=True)
    slab.pbc = (True, True, False)
    sizes = [tuple(np.round(np.diag(s.cell[:]) / 3.6).astype(int))
             for s in isotropic_supercells(slab, n=2)]
    assert sizes == [(5, 5, 1), (6, 6, 1)]  # 4 * 5 * 5 >= 100 atoms
    cluster = slab.copy()
    cluster.pbc = False
    with pytest.raises(InputError, match="periodic along at least one axis"):
        isotropic_supercells(cluster)


def test_added_model_recalibrates_other(a15_model, model):
    """The new class's structures lie above the fine-tuned model's Other threshold."""
    new = ARISEModel(a15_model)
    calibration = new.metadata["other"]["calibration"]
    assert calibration["added_classes_quantile"] > new.min_anisotropy
    assert new.min_anisotropy <= model.min_anisotropy
