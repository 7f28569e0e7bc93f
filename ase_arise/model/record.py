"""The metadata record of a model file (.json beside the .onnx): its checksum and its checks.

A record is verified on load against itself (types and value ranges), against its own checksum
(``metadata_sha256``: SHA-256 of the record without that entry, keys sorted; files written
before 0.2.0 have none), against the .onnx file (``onnx_sha256``) and, once the graph is
loaded, against the graph's inputs and outputs. Every failure is a :class:`ModelError` that
names the file and the entry.
"""

import hashlib
import json
import numbers

from .._validation import check_scalar
from ..errors import ModelError, one_line

FORMAT = "arise-model/1"
CHECKSUM_KEY = "metadata_sha256"
# Most MC-dropout passes per input: the masks of 10^5 passes take ~0.5 GB.
MAX_PASSES = 100_000
# Descriptor parameters a record must give: (low, high) bounds, as this package can compute them.
DESCRIPTOR_BOUNDS = {"r_cut": (0.5, 10.0), "sigma": (1e-3, 1.0), "extrinsic_scaling": (0.1, 10.0),
                     "n_max": (2, 16), "l_max": (0, 12)}


def check_passes(n_samples):
    """``n_samples`` as an int in 1-``MAX_PASSES`` (MC-dropout passes); raises naming it."""
    return check_scalar(n_samples, "n_samples", kind=numbers.Integral, low=1, low_inclusive=True,
                        high=MAX_PASSES)


def record_digest(record):
    """SHA-256 (hex) of a record without its own checksum entry, keys sorted."""
    body = {key: value for key, value in record.items() if key != CHECKSUM_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_record(path):
    """The record of ``path`` (.json), parsed and checked on its own; raises ModelError."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"Model metadata {path} is not valid JSON: {one_line(error)}") from None
    check_record(record, path)
    return record


def _fail(path, message):
    raise ModelError(f"{path}: {message} Re-export the model, or pass the shipped one "
                     "(model=None).")


def _entry(record, path, key, kind, what):
    if key not in record:
        _fail(path, f"the entry {key!r} ({what}) is missing.")
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(path, f"the entry {key!r} must be {what}; it is {value!r:.60}.")
    return value


def check_record(record, path):
    """Types, value ranges and the record's own checksum; raises ModelError."""
    if not isinstance(record, dict):
        raise ModelError(f"{path} is not an ARISE model record: it holds a JSON "
                         f"{type(record).__name__}, not an object.")
    if record.get("format") != FORMAT:
        raise ModelError(f"{path} is not an ARISE model record (format "
                         f"{record.get('format')!r:.40}, expected {FORMAT!r}).")
    if CHECKSUM_KEY in record and record[CHECKSUM_KEY] != record_digest(record):
        _fail(path, "its contents do not match its checksum (metadata_sha256): the file was "
                    "edited after it was written.")
    _entry(record, path, "onnx_sha256", str, "the SHA-256 of the .onnx file")
    architecture = _entry(record, path, "architecture", dict, "an object")
    widths = _entry(architecture, path, "widths", list, "a list of layer widths")
    if len(widths) < 3 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1
                              for w in widths):
        _fail(path, f"'architecture.widths' must be >= 3 positive ints; it is {widths!r:.60}.")
    dropout = _entry(architecture, path, "dropout", numbers.Real, "a number")
    if not 0.0 <= dropout < 1.0:
        _fail(path, f"the dropout rate must lie in [0, 1); it is {dropout!r}.")
    for key in ("classes", "class_names"):
        names = _entry(record, path, key, list, "a list of class names")
        if len(names) != widths[-1] or not all(isinstance(n, str) and n for n in names):
            _fail(path, f"{key!r} must list {widths[-1]} non-empty names, one per output of "
                        f"the network; it lists {len(names)}.")
        if len(set(names)) != len(names):
            _fail(path, f"{key!r} names a class twice.")
    passes = _entry(record, path, "n_samples_default", int, "an int (MC-dropout passes)")
    if not 1 <= passes <= MAX_PASSES:
        _fail(path, f"'n_samples_default' must lie in 1-{MAX_PASSES}; it is {passes}.")
    descriptor = _entry(record, path, "descriptor", dict, "an object")
    for key, (low, high) in DESCRIPTOR_BOUNDS.items():
        kind = int if isinstance(low, int) and isinstance(high, int) else numbers.Real
        value = _entry(descriptor, path, key, kind, f"a number in [{low}, {high}]")
        if not low <= value <= high:
            _fail(path, f"the descriptor parameter {key!r} must lie in [{low}, {high}]; it is "
                        f"{value!r}.")
    if "other" in record:
        other = _entry(record, path, "other", dict, "an object")
        threshold = _entry(other, path, "min_anisotropy", numbers.Real, "a number in [0, 1)")
        if not 0.0 <= threshold < 1.0:
            _fail(path, f"'other.min_anisotropy' must lie in [0, 1); it is {threshold!r}.")
    n_features = descriptor["n_max"] * (descriptor["n_max"] + 1) // 2 * (
        descriptor["l_max"] + 1) + 1
    if n_features != widths[0]:
        _fail(path, f"the descriptor parameters give {n_features} features but the network "
                    f"takes {widths[0]}.")


def check_graph(session, record, path):
    """The loaded graph's inputs and outputs against the record's widths; raises ModelError."""
    widths = record["architecture"]["widths"]
    expected_inputs = {"descriptors": widths[0]}
    expected_inputs.update({f"mask_{k}": w for k, w in enumerate(widths[:-1])})
    found = {i.name: i.shape[-1] for i in session.get_inputs()}
    outputs = {o.name: o.shape[-1] for o in session.get_outputs()}
    expected_outputs = {"probabilities": widths[-1]}
    expected_outputs.update({f"pre_activation_{k}": widths[k] for k in range(1, len(widths) - 1)})
    for kind, want, have in (("input", expected_inputs, found),
                             ("output", expected_outputs, outputs)):
        for name, width in want.items():
            if name not in have:
                _fail(path, f"the graph has no {kind} {name!r} (an ARISE graph has "
                            f"{sorted(want)}).")
            if isinstance(have[name], int) and have[name] != width:
                _fail(path, f"the graph's {kind} {name!r} has width {have[name]}, the record "
                            f"says {width}.")
