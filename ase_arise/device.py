"""Where the heavy stages run: ``device="cpu"`` (the default) or a CUDA GPU through CuPy.

``"cuda"`` is the current CUDA device, ``"cuda:N"`` card N. The GPU path needs the optional
extra ``pip install "arise[gpu]"``, which installs ``cupy-cuda12x``; for a CUDA 13 driver
install ``cupy-cuda13x`` instead (``nvidia-smi`` prints the driver's CUDA version). Into OVITO
Pro's own Python: ``ovitos -m pip install cupy-cuda12x`` (or ``cupy-cuda13x``).
"""

import functools
import re
import sys

import numpy as np

from .errors import InputError, InputTypeError

_PATTERN = re.compile(r"cpu|cuda(:\d+)?")
_INSTALL = ('pip install "arise[gpu]" (CuPy for a CUDA 12 driver), or pip install cupy-cuda13x '
            "for a CUDA 13 driver (nvidia-smi shows which)")


def check_device(device):
    """The canonical name of ``device``: "cpu" or "cuda:N" (``"cuda"`` is card 0).

    Checks the spelling only; :func:`cuda_module` checks that the card can be used.

    Raises
    ------
    InputTypeError, InputError
        Not a string, or not "cpu", "cuda" or "cuda:N".
    """
    if not isinstance(device, str):
        raise InputTypeError(f"The 'device' parameter must be a string (\"cpu\", \"cuda\" or "
                             f"\"cuda:N\"). Got {type(device).__name__} instead.")
    if not _PATTERN.fullmatch(device):
        raise InputError(f"The 'device' parameter must be \"cpu\", \"cuda\" or \"cuda:N\" (N a "
                         f"card number). Got {device!r} instead.")
    return "cuda:0" if device == "cuda" else device


@functools.cache  # checked once per process and card (errors are not cached)
def cuda_module(device):
    """CuPy and the ``cupy.cuda.Device`` of ``device`` ("cuda:N", from :func:`check_device`);
    work on it runs inside ``with card:``.

    Raises
    ------
    InputError
        CuPy is not installed, no CUDA card is visible, card N does not exist, or the driver is
        too old for this CuPy: the message says what to install or update.
    """
    try:
        import cupy
    except ImportError:
        raise InputError(f"device={device!r} needs CuPy, which is not installed: {_INSTALL}."
                         ) from None
    number = int(device.split(":")[1])
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        driver = cupy.cuda.runtime.driverGetVersion()
        runtime = cupy.cuda.runtime.runtimeGetVersion()
    except cupy.cuda.runtime.CUDARuntimeError as error:
        raise InputError(f"device={device!r}: CUDA cannot be used here ({error}). Install the "
                         "NVIDIA driver, or run with device=\"cpu\".") from None
    if count == 0:
        raise InputError(f"device={device!r}: no CUDA card is visible. Run with device=\"cpu\", "
                         "or check CUDA_VISIBLE_DEVICES and the driver (nvidia-smi).")
    if number >= count:
        raise InputError(f"device={device!r}: this machine has {count} CUDA card(s), numbered 0 "
                         f"to {count - 1}.")
    # CUDA's minor-version compatibility: a driver runs any runtime of its major version
    if driver // 1000 < runtime // 1000:
        raise InputError(
            f"device={device!r}: the NVIDIA driver supports CUDA {_version(driver)}, older than "
            f"the CUDA {_version(runtime)} this CuPy is built for. Update the driver, or install "
            f"the CuPy wheel for your driver's CUDA: {_INSTALL}.")
    card = cupy.cuda.Device(number)
    try:
        with card:
            cupy.zeros(1).sum().get()  # a context, a kernel and a copy
    except (cupy.cuda.runtime.CUDARuntimeError, cupy.cuda.driver.CUDADriverError) as error:
        raise InputError(f"device={device!r}: the card does not run CUDA code ({error}). "
                         f"Update the driver, or install the CuPy wheel for your driver's "
                         f"CUDA: {_INSTALL}.") from None
    return cupy, card


def on_card(array):
    """Whether ``array`` is a CuPy array (it lives on a card)."""
    return type(array).__module__.partition(".")[0] == "cupy"


def array_module(array):
    """The array module of ``array``: CuPy for an array on a card, else numpy."""
    return sys.modules["cupy"] if on_card(array) else np


def to_host(array):
    """``array`` itself, or a numpy copy fetched from the card where it is a CuPy array."""
    return array.get() if on_card(array) else array


def _version(code):
    return f"{code // 1000}.{code % 1000 // 10}"
