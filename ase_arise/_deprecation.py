"""Renamed parameters: the old keyword still works, with a DeprecationWarning, until 0.3.0."""

import functools
import warnings

from .errors import InputTypeError

REMOVED_IN = "0.3.0"


def renamed_parameters(**renames):
    """Decorator: accept each keyword ``old`` (``old="new"``) as ``new``, with a warning.

    Raises TypeError when both the old and the new name are given.
    """
    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InputTypeError(f"{function.__name__}() got both '{old}' and its new "
                                             f"name '{new}'; give only '{new}'.")
                    warnings.warn(f"The '{old}' parameter of {function.__name__} is renamed "
                                  f"'{new}'; '{old}' will be removed in {REMOVED_IN}.",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)
        return wrapper
    return decorate
