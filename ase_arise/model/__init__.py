"""Stage 3 of the pipeline: the Bayesian network (ONNX, MC dropout) and the model cache.

:mod:`.network` (:class:`ARISEModel`: the verified .onnx + .json pair, MC-dropout predictions,
hidden representations) and :mod:`.store` (:func:`load_model`: one loaded model per file,
reloaded when the file changes; :func:`resolve_model` for ``model=`` parameters).
"""

from .network import DEFAULT_LAYER, ARISEModel, Prediction, default_model_path
from .store import load_model, resolve_model

__all__ = ["DEFAULT_LAYER", "ARISEModel", "Prediction", "default_model_path", "load_model",
           "resolve_model"]
