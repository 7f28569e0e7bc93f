"""Models loaded once and reused: a cache keyed by the resolved file path and its stamp.

A relative and an absolute path to one file are one entry; a model file rewritten on disk (a
new fine-tune to the same name) has a new size or modification time and is loaded again, so
callers never clear anything.
"""

import os
import threading
from collections import OrderedDict
from pathlib import Path

from ..errors import InputError, InputTypeError
from .network import ARISEModel, default_model_path

# Models kept in memory at once (each holds ~1.5 MB of float32 weights).
CACHE_SIZE = 8
_cache = OrderedDict()
_lock = threading.Lock()


def _stamp(path):
    """(size, mtime_ns) of the .onnx file and of its .json; None if either is missing."""
    try:
        return tuple((s.st_size, s.st_mtime_ns)
                     for s in (path.stat(), path.with_suffix(".json").stat()))
    except OSError:
        return None


def load_model(path=None):
    """The model at ``path`` (None: the shipped one), loaded once while its files are unchanged.

    Parameters
    ----------
    path : None or path-like
        An .onnx model file with its .json beside it.

    Returns
    -------
    ARISEModel

    Raises
    ------
    ModelError
        Missing or inconsistent model files (see :class:`ARISEModel`).
    """
    resolved = default_model_path() if path is None else Path(path).expanduser().resolve()
    stamp = _stamp(resolved)
    with _lock:
        hit = _cache.get(resolved)
        if hit is not None and stamp is not None and hit[0] == stamp:
            _cache.move_to_end(resolved)
            return hit[1]
    model = ARISEModel(resolved)  # raises ModelError for missing or broken files
    with _lock:
        _cache[resolved] = (stamp, model)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def resolve_model(model):
    """The :class:`ARISEModel` that a ``model`` parameter names.

    Parameters
    ----------
    model : None, path-like or ARISEModel
        None: the shipped 108-class model; a path: an .onnx model file (loaded through the
        cache); an ARISEModel: itself.

    Raises
    ------
    TypeError
        Any other type.
    InputError
        An empty path ("").
    ModelError
        Missing or inconsistent model files.
    """
    if isinstance(model, ARISEModel):
        return model
    if model is None:
        return load_model(None)
    if isinstance(model, (str, os.PathLike)):
        if not str(model).strip():
            raise InputError("The 'model' parameter is an empty path: pass None for the shipped "
                             "model, or the path of an .onnx model file.")
        return load_model(model)
    raise InputTypeError("The 'model' parameter must be None, a path to an .onnx model file or an "
                         f"ARISEModel. Got {type(model).__name__} instead.")
