"""device="cpu" | "cuda" | "cuda:N": spelled one way everywhere, and a clear error where no GPU
can be used (CI has none; tests/gpu runs where one is)."""

import numpy as np
import pytest
from ase.build import bulk

from ase_arise import Settings, classify
from ase_arise.cli import main
from ase_arise.descriptor import ARISEDescriptor
from ase_arise.device import check_device, cuda_module
from ase_arise.errors import InputError, InputTypeError


def _gpu_usable():
    try:
        cuda_module("cuda:0")
    except InputError:
        return False
    return True


needs_no_gpu = pytest.mark.skipif(_gpu_usable(), reason="a usable GPU is present")


@pytest.mark.parametrize("given, canonical", [("cpu", "cpu"), ("cuda", "cuda:0"),
                                              ("cuda:1", "cuda:1")])
def test_device_names(given, canonical):
    assert check_device(given) == canonical


@pytest.mark.parametrize("bad, error", [("gpu", InputError), ("cuda:", InputError),
                                        ("CUDA", InputError), ("cuda:x", InputError),
                                        (0, InputTypeError), (None, InputTypeError)])
def test_bad_device_names(bad, error):
    with pytest.raises(error, match="'device' parameter"):
        check_device(bad)
    with pytest.raises(error, match="'device' parameter"):
        Settings(device=bad)


@needs_no_gpu
def test_cuda_without_a_usable_gpu_says_what_to_install(model, tmp_path, capsys):
    """Without CuPy (or a card, or a recent driver) every surface refuses before any work."""
    what = r"CuPy|CUDA card|driver|CUDA cannot be used"
    with pytest.raises(InputError, match=what):
        Settings(device="cuda")
    with pytest.raises(InputError, match=what):
        ARISEDescriptor(device="cuda:0")
    with pytest.raises(InputError, match=what):
        classify(bulk("Cu", "fcc", a=3.6), device="cuda")
    with pytest.raises(InputError, match=what):
        model.predict(np.zeros((2, 316)) + 0.05, device="cuda")
    path = tmp_path / "cu.xyz"
    bulk("Cu", "fcc", a=3.6).write(path)
    assert main(["classify", str(path), "--device", "cuda"]) == 1
    assert "device='cuda:0'" in capsys.readouterr().err


def test_cpu_is_the_default_everywhere(model):
    assert Settings().device == "cpu"
    assert ARISEDescriptor().device == "cpu"
    assert model.descriptor().device == "cpu"
