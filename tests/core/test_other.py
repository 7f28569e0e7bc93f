"""The "Other" decision: the anisotropy score against a brute-force power spectrum, the
calibrated threshold in the model record, and Other on every Python surface (classify, spm,
label, the calculator), with crystals at the documented noise limit staying known."""

import json

import matplotlib
import numpy as np
import pytest
from ase.build import bulk

from ase_arise import ARISE, classify, defective_copy, label, load_prototypes, spm
from ase_arise.benchmarks.amorphous import ideal_gas, kob_andersen_glass
from ase_arise.descriptor.soap import SOAPBasis
from ase_arise.errors import ModelError
from ase_arise.model import ARISEModel
from ase_arise.model.other import (OTHER, anisotropy, calibrate, decide, disorder,
                                   recalibrate)
from ase_arise.model.record import CHECKSUM_KEY, record_digest

matplotlib.use("Agg")


def test_anisotropy_is_the_share_of_power_in_l_above_zero():
    basis = SOAPBasis()
    rng = np.random.default_rng(0)
    coefficients = rng.normal(size=(basis.n_max, (basis.l_max + 1) ** 2))
    spectrum = basis.power_spectrum(coefficients)
    # brute force: sum_m c[n, lm]^2 / sqrt(2l + 1) for each n, l
    power = np.array([sum((coefficients[n, l * l:(l + 1) ** 2] ** 2).sum() / np.sqrt(2 * l + 1)
                          for n in range(basis.n_max)) for l in range(basis.l_max + 1)])
    assert anisotropy(spectrum, basis.n_max, basis.l_max) == pytest.approx(
        1 - power[0] / power.sum(), rel=1e-12)
    only_radial = coefficients.copy()
    only_radial[:, 1:] = 0
    assert anisotropy(basis.power_spectrum(only_radial), basis.n_max, basis.l_max) == 0.0
    assert np.isnan(anisotropy(np.full(316, np.nan), basis.n_max, basis.l_max))


def test_decide_marks_other_and_keeps_no_prediction():
    ids = decide(np.array([3, 5, -1, 7]), np.array([0.01, 0.3, np.nan, np.nan]), 0.1)
    assert ids.tolist() == [OTHER, 5, -1, 7]


def test_disorder_is_the_order_lost_against_the_best_boxes_of_the_class():
    rng = np.random.default_rng(1)
    ids = rng.integers(-1, 3, 400)
    score = rng.uniform(0.05, 0.4, 400)
    bits = disorder(ids, score)
    for c in range(3):  # brute force: log2(75th percentile of the class / own), at least 0
        mine = ids == c
        rank = 0.75 * (mine.sum() - 1)  # the percentile lies between these order statistics
        low, high = np.sort(score[mine])[[int(np.floor(rank)), int(np.ceil(rank))]]
        assert (bits[mine] >= np.maximum(np.log2(low / score[mine]), 0) - 1e-12).all()
        assert (bits[mine] <= np.maximum(np.log2(high / score[mine]), 0) + 1e-12).all()
    assert np.isnan(bits[ids == -1]).all()
    # two grains of half the order each: one bit; the class's own scale does not matter
    assert disorder(np.array([0] * 10 + [1] * 10), np.r_[[0.4] * 9, 0.2, [0.1] * 9, 0.05])[
        [9, 19]] == pytest.approx([1.0, 1.0])


def test_uncertainty_ranks_a_boundary_box_above_grain_boxes():
    """fcc | bcc bicrystal: boxes straddling the boundaries have more disorder than boxes in
    the grains, and the uncertainty is MI plus disorder."""
    left = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((6, 6, 6))
    right = bulk("Cu", "bcc", a=2.87, cubic=True).repeat((8, 8, 8))
    right.set_cell(left.cell, scale_atoms=True)
    right.positions[:, 0] += left.cell[0, 0]
    sample = left + right
    sample.set_cell(np.diag([2 * left.cell[0, 0], left.cell[1, 1], left.cell[2, 2]]))
    result = spm(sample, box=12.0, stride=3.0)
    assert np.allclose(result.uncertainty, result.mutual_information + result.disorder)
    x = result.centres[:, 0] % sample.cell[0, 0]
    boundary = (np.abs(x - left.cell[0, 0]) < 2) | (x < 2) | (x > sample.cell[0, 0] - 2)
    inside = (np.abs(x - left.cell[0, 0] / 2) < 2) | (np.abs(x - 1.5 * left.cell[0, 0]) < 2)
    assert np.median(result.disorder[boundary]) > np.median(result.disorder[inside]) + 0.3
    assert np.median(result.disorder[inside]) < 0.1


def test_calibrate_puts_the_threshold_in_the_gap():
    threshold, record = calibrate(np.full(100, 0.01), np.full(100, 0.16))
    assert threshold == pytest.approx(0.04)
    assert record["amorphous_quantile"] == pytest.approx(0.01)
    # fine-tuned classes with a lower anisotropy pull the threshold below them
    other = recalibrate({"min_anisotropy": threshold, "calibration": record}, np.full(50, 0.05))
    assert other["min_anisotropy"] == pytest.approx(np.sqrt(0.01 * 0.05))
    assert other["min_anisotropy"] < 0.05
    assert recalibrate(None, [0.1]) is None


def test_shipped_model_records_a_calibrated_threshold(model):
    other = model.metadata["other"]
    calibration = other["calibration"]
    assert other["score"] == "anisotropy"
    assert calibration["amorphous_quantile"] < model.min_anisotropy \
        < calibration["crystalline_quantile"]
    assert calibration["amorphous"]["elements"] == ["Al", "Ni", "Pt"]


def test_a_threshold_out_of_range_is_refused(model, tmp_path):
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(model.path.read_bytes())
    record = dict(model.metadata, other={"min_anisotropy": 1.5})
    record[CHECKSUM_KEY] = record_digest(record)
    onnx.with_suffix(".json").write_text(json.dumps(record))
    with pytest.raises(ModelError, match="min_anisotropy"):
        ARISEModel(onnx)


def test_a_liquid_is_other_everywhere(liquid, model):
    result = classify(liquid)
    assert result.other and result.name == "Other" and result.class_id == OTHER
    assert result.prototype == result.top_k[0][0] and result.prototype_id >= 0
    assert result.anisotropy < model.min_anisotropy
    labels = label(liquid)
    assert labels.other.all() and (labels.class_id == OTHER).all()
    assert (labels.prototype_id >= 0).all()
    assert set(labels.names) == {"Other"} and labels.counts() == {"Other": len(liquid)}
    arrays = labels.atoms.arrays
    assert (arrays["arise_class"] == -2).all() and arrays["arise_other"].all()
    assert (arrays["arise_anisotropy"] < model.min_anisotropy).all()
    # 0 switches the decision off: the nearest prototypes come back
    assert not classify(liquid, min_anisotropy=0.0).other
    assert not label(liquid, min_anisotropy=0.0).other.any()
    calc = ARISE()
    assert calc.get_property("other", liquid) and calc.get_property("prototype", liquid) == \
        "Other"
    assert calc.get_property("atom_other", liquid).all()


def test_a_glass_and_a_gas_are_other():
    glass = kob_andersen_glass(random_state=1)  # 500 atoms
    gas = ideal_gas(n_atoms=300, random_state=1)
    with pytest.warns(Warning):  # the gas has overlapping atoms
        results = classify([glass, gas])
    assert [r.other for r in results] == [True, True]
    assert label(glass).other.mean() >= 0.95


@pytest.mark.parametrize("name, structure, a, sigma", [
    ("fcc", "fcc", 3.61, 0.05 * 2.553), ("bcc", "bcc", 2.87, 0.05 * 2.485),
    ("diamond", "diamond", 5.43, 0.05 * 2.351)])
def test_crystals_at_the_noise_limit_are_not_other(name, structure, a, sigma):
    atoms = bulk("X", structure, a=a, cubic=True).repeat(4)
    atoms.symbols = "Cu" if structure != "diamond" else "Si"
    rng = np.random.default_rng(0)
    atoms.positions += rng.normal(0, sigma, atoms.positions.shape)
    result = classify(atoms)
    assert not result.other and result.name == name
    labels = label(atoms)
    assert not labels.other.any() and (labels.names == name).all()


def test_the_hardest_protocol_level_is_not_other():
    rng = np.random.default_rng(5)
    structures = [defective_copy(p.supercells()[0], displacement=0.1, missing=0.3,
                                 random_state=rng) for p in load_prototypes()[::9]]
    assert not any(r.other for r in classify(structures))


def test_spm_maps_show_other(liquid, tmp_path):
    maps = spm(liquid, stride=8.0)
    assert maps.other[maps.valid].all() and (maps.argmax_map() == OTHER).all()
    assert "Other" in repr(maps)
    ax = maps.plot_slice("class")
    assert [t.get_text() for t in ax.figure.axes[-1].get_yticklabels()] == ["Other"]
    maps.plot_slice("anisotropy")
    maps.save(tmp_path / "maps.npz", {"box": maps.box})
    saved = np.load(tmp_path / "maps.npz")
    assert (saved["class_id"] == OTHER).all() and np.isfinite(saved["anisotropy"]).all()


def test_calibration_writes_a_verified_record(model, tmp_path, liquid):
    from ase_arise.training.calibrate import scores, write_other

    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(model.path.read_bytes())
    (tmp_path / "m.json").write_text(model.path.with_suffix(".json").read_text())
    crystal = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(4)
    amorphous, crystalline = scores(model, [liquid], [crystal])
    assert amorphous.max() < 0.02 < crystalline.min()
    threshold, quantiles = calibrate(amorphous, crystalline)
    write_other(onnx, {"score": "anisotropy", "min_anisotropy": threshold,
                       "calibration": quantiles})
    again = ARISEModel(onnx)  # the checksum was renewed
    assert again.min_anisotropy == pytest.approx(threshold)
    assert again.metadata["onnx_sha256"] == model.metadata["onnx_sha256"]


def test_a_periodic_gas_is_not_mistaken_for_a_slab():
    """Its close pairs once made its d_NN ~0.2 Å and its random gaps 'vacuum' (exact mode)."""
    with pytest.warns(Warning):  # overlapping atoms
        labels = label(ideal_gas(random_state=203))
    assert labels.spm.mode == "fast" and labels.other.all()
