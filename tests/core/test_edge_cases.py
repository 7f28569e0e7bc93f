"""Every row of tests/core/edge_cases.py answers as the table says, within 10 s and 2 GB.

Each row runs in its own process, forked from a server that has imported arise once (so a row
costs its own work, not the imports): a row that hangs is killed after the time limit, and a
row that allocates without bound hits an address-space limit instead of the machine's memory.
"""

import multiprocessing
import re
import resource
import shutil
import traceback
import warnings

import pytest

from edge_cases import CASES, PREAMBLE

SECONDS = 10.0
PEAK_BYTES = 2 * 1024 ** 3
# the address-space guard above the server's own mapping (numba and onnxruntime map a lot)
GUARD_BYTES = 6 * 1024 ** 3

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["ase_arise", "ase_arise.cli", "edge_cases"])


def _run(code, check, folder, connection):
    """Run one row in this (forked) process and send back what happened."""
    import os

    os.chdir(folder)
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + GUARD_BYTES, mapped + GUARD_BYTES))
    outcome = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace = {}
        try:
            exec(PREAMBLE, namespace)
            exec(code, namespace)
            result = namespace.get("result")
            outcome.update(kind="returned", value=result if isinstance(result, tuple) else None,
                           shown=repr(result)[:300],
                           check=bool(eval(check, namespace)) if check else None)
        except BaseException as error:  # the row's outcome, whatever it is
            outcome.update(kind="raised", types=[c.__name__ for c in type(error).__mro__],
                           message=str(error), trace=traceback.format_exc()[-1500:])
    outcome["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
    outcome["peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    connection.send(outcome)
    connection.close()


@pytest.fixture
def folder(tmp_path):
    from ase.build import bulk
    from ase.io import write

    from ase_arise.model import default_model_path

    write(tmp_path / "fcc.xyz", bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3))
    (tmp_path / "model").mkdir()
    for suffix in (".onnx", ".json"):
        shutil.copy(default_model_path().with_suffix(suffix), tmp_path / "model")
    return tmp_path


@pytest.mark.parametrize("code, expected", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_edge_case(code, expected, folder):
    kind, name, pattern = expected
    receive, send = _context.Pipe(duplex=False)
    check = pattern if kind == "returns" else None
    process = _context.Process(target=_run, args=(code, check, str(folder), send))
    process.start()
    send.close()
    ready = receive.poll(SECONDS)
    process.join(1.0 if ready else 0.0)
    if not ready:
        process.kill()
        process.join()
        pytest.fail(f"no answer within {SECONDS:g} s: {code}")
    outcome = receive.recv()
    assert outcome["peak_bytes"] <= PEAK_BYTES, f"peak memory {outcome['peak_bytes'] / 1e9:.2f} GB"
    if kind == "raises":
        assert outcome["kind"] == "raised", f"returned instead of raising {name}"
        assert name in outcome["types"], outcome["trace"]
        assert re.search(pattern, outcome["message"]), outcome["message"]
        return
    assert outcome["kind"] == "returned", outcome.get("trace")
    if kind == "warns":
        found = [message for category, message in outcome["warnings"] if category == name]
        assert any(re.search(pattern, message) for message in found), outcome["warnings"]
    elif kind == "returns":
        assert outcome["check"], outcome["shown"]
    else:  # cli
        status, stderr = outcome["value"]
        lines = stderr.splitlines()
        assert status == name and len(lines) == 1, (status, stderr)
        assert re.search(pattern, lines[0]), lines[0]
