"""Settings: validated once, eagerly, with errors that name the parameter; the model cache;
readable reprs; deprecated names."""

import os
import shutil
import warnings

import numpy as np
import pytest
from ase.build import bulk

from ase_arise import (ARISE, ARISEDescriptor, InputError, ModelError, Settings, classify,
                       displace_atoms, label, load_model, nearest_neighbor_distance,
                       remove_atoms, spm)
from ase_arise.model import default_model_path, resolve_model


@pytest.fixture(scope="module")
def fcc():
    return bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4)


def test_defaults_come_from_the_model(model):
    settings = Settings()
    assert settings.n_samples is None and settings.passes == model.default_n_samples
    assert settings.network is model
    assert Settings(n_samples=7).passes == 7


@pytest.mark.parametrize("changes, error, words", [
    (dict(box=-1.0), InputError, "'box'"),
    (dict(box="16"), TypeError, "'box'"),
    (dict(stride="x"), TypeError, "'stride'"),
    (dict(stride=0.0), InputError, "'stride'"),
    (dict(mode="slow"), InputError, "'mode'"),
    (dict(per_atom="yes"), TypeError, "'per_atom'"),
    (dict(axes=0), TypeError, "'axes'"),
    (dict(axes=[]), InputError, "'axes'"),
    (dict(axes=[3]), InputError, "'axes'"),
    (dict(n_samples=0), InputError, "'n_samples'"),
    (dict(n_samples=2.5), TypeError, "'n_samples'"),
    (dict(tolerance=-1.0), InputError, "'tolerance'"),
    (dict(min_atoms=0), InputError, "'min_atoms'"),
    (dict(random_state=-1), TypeError, "'random_state'"),
    (dict(random_state=True), TypeError, "'random_state'"),
    (dict(model=""), InputError, "'model'"),
    (dict(model=5), TypeError, "'model'"),
    (dict(model="no-such-model.onnx"), ModelError, "does not exist"),
])
def test_bad_settings_fail_when_made(changes, error, words):
    with pytest.raises(error, match=words):
        Settings(**changes)


def test_calculator_validates_at_construction(fcc):
    with pytest.raises(InputError, match="'box'"):
        ARISE(box=-1.0)
    with pytest.raises(InputError, match="'n_samples'"):
        ARISE(n_samples=0)
    with pytest.raises(TypeError, match="'stride'"):
        ARISE(stride="x")
    with pytest.raises(TypeError, match="not both"):
        ARISE(settings=Settings(), box=12.0)
    calc = ARISE(settings=Settings(box=12.0, stride=6.0))
    assert calc.settings.box == 12.0 and calc.parameters["stride"] == 6.0


def test_replace_validates_again():
    with pytest.raises(InputError, match="'box'"):
        Settings().replace(box=0.0)
    assert Settings(axes=[1, 0, 1]).axes == (0, 1)


def test_functions_validate_before_any_work(fcc):
    with pytest.raises(InputError, match="'tolerance'"):
        spm(fcc, tolerance=-1)
    with pytest.raises(TypeError, match="'inplace'"):
        label(fcc, inplace="no")
    with pytest.raises(TypeError, match="'probabilities'"):
        label(fcc, probabilities="yes")
    with pytest.raises(TypeError, match="'progress'"):
        classify(fcc, progress="yes")
    with pytest.raises(InputError, match="'model'"):
        classify(fcc, model="")


def test_model_cache_by_resolved_path_and_stamp(tmp_path, monkeypatch):
    source = default_model_path()
    for suffix in (".onnx", ".json"):
        shutil.copy(source.with_suffix(suffix), tmp_path / ("m" + suffix))
    monkeypatch.chdir(tmp_path)
    first = load_model("m.onnx")
    assert load_model(tmp_path / "m.onnx") is first           # relative and absolute: one model
    assert resolve_model(str(tmp_path / "m.onnx")) is first
    assert load_model(None) is load_model(source)             # None is the shipped file
    stamp = os.stat("m.onnx")
    os.utime("m.onnx", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10 ** 9))
    assert load_model("m.onnx") is not first                  # rewritten on disk: read again


def test_reprs_are_short(fcc):
    atoms = fcc.copy()
    result = label(atoms, box=10.0, stride=5.0, n_samples=5)
    for text in (repr(result), repr(result.spm), repr(classify(atoms, n_samples=5)),
                 repr(ARISE()), repr(Settings())):
        assert len(text) < 700 and text.count("\n") <= 4, text
    assert "fcc" in repr(result) and "boxes" in repr(result.spm)


def test_old_parameter_names_warn_and_work(fcc):
    atoms = bulk("Cu", "fcc", a=3.6)
    with pytest.warns(DeprecationWarning, match="'centers'.*'centres'"):
        old = ARISEDescriptor().atomic_coefficients(atoms, centers=[0])
    new = ARISEDescriptor().atomic_coefficients(atoms, centres=[0])
    np.testing.assert_array_equal(old.coefficients, new.coefficients)
    with pytest.warns(DeprecationWarning, match="'center_species'"):
        assert nearest_neighbor_distance(atoms, center_species=29) == pytest.approx(
            nearest_neighbor_distance(atoms, centre_species=29))
    with pytest.warns(DeprecationWarning, match="'delta'"):
        moved = displace_atoms(fcc, delta=0.01, random_state=0)
    np.testing.assert_array_equal(moved.positions,
                                  displace_atoms(fcc, 0.01, random_state=0).positions)
    with pytest.warns(DeprecationWarning, match="'eta'"):
        assert len(remove_atoms(fcc, eta=0.25, random_state=0)) == len(fcc) - 64
    with pytest.raises(TypeError, match="both"):
        remove_atoms(fcc, eta=0.1, missing=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        remove_atoms(fcc, 0.1, random_state=0)                 # positional: no warning
