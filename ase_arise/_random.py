"""One way to get randomness: from a ``random_state`` (None, int or numpy Generator)."""

import numbers

import numpy as np

from .errors import InputTypeError


def validate_random_state(random_state):
    """Return ``random_state`` if it is None, an int >= 0 or a numpy Generator.

    Raises
    ------
    TypeError
        Any other value (bools included), naming the parameter.
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) \
            and random_state >= 0:
        return random_state
    raise InputTypeError("The 'random_state' parameter must be None, an int >= 0 or a "
                         f"numpy.random.Generator. Got {random_state!r} instead.")


def check_random_state(random_state):
    """Return a numpy ``Generator`` for ``random_state``.

    None: fresh entropy from the OS (not reproducible); int >= 0: a new Generator seeded with it;
    a Generator: returned as is (its state advances). Never the global ``np.random``.
    """
    random_state = validate_random_state(random_state)
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(int(random_state))
