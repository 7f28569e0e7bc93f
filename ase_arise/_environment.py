"""Environment variables that break arise's dependencies at import, caught before they do.

numba refuses to import when ``NUMBA_NUM_THREADS`` is not a positive integer (a ValueError from
deep inside it); arise checks first and says which variable to fix. ``ase_arise`` imports this
module before anything else, and importing it runs the check.
"""

import os
import sys

from .errors import InputError


def environment_problem():
    """A one-line description of a bad environment variable, or None."""
    threads = os.environ.get("NUMBA_NUM_THREADS")
    if threads is not None and not (threads.strip().isdigit() and int(threads) > 0):
        return (f"NUMBA_NUM_THREADS={threads!r} is not a positive number of threads: unset it "
                "(numba then uses every core) or set it to 1 or more")
    return None


def check_environment():
    """Raise InputError for a bad environment; under the ``arise`` command line print it as its
    one-line error and exit with status 1 instead (the import happens before ``main`` runs)."""
    problem = environment_problem()
    if problem is None:
        return
    if os.path.basename(sys.argv[0]) == "arise":
        sys.stderr.write(f"arise: error: {problem}.\n")
        raise SystemExit(1)
    raise InputError(problem + ".")


check_environment()
