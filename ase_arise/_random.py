"""One way to get randomness: from a ``random_state`` (None, int or numpy Generator)."""

import numbers

import numpy as np


def check_random_state(random_state):
    """Return a numpy ``Generator`` for ``random_state``.

    None: fresh entropy from the OS (not reproducible); int >= 0: a new Generator seeded with it;
    a Generator: returned as is (its state advances). Never the global ``np.random``.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) \
            and random_state >= 0:
        return np.random.default_rng(int(random_state))
    raise TypeError("The 'random_state' parameter must be None, an int >= 0 or a "
                    f"numpy.random.Generator. Got {random_state!r} instead.")
