"""Exceptions and warnings of arise."""


class AriseError(Exception):
    """Base class of all errors raised by arise."""


class InputError(AriseError, ValueError):
    """A structure or parameter that arise cannot work with; the message says how to fix it."""


class InputTypeError(AriseError, TypeError):
    """A parameter of the wrong type; the message names the parameter and the type expected."""


class ModelError(AriseError):
    """A model file that is missing, inconsistent with its metadata, or fails verification."""


class IsolatedAtomsWarning(UserWarning):
    """Some atoms have no neighbour within the cutoff and contribute nothing to the descriptor."""


class OverlappingAtomsWarning(UserWarning):
    """Two atoms closer than half the nearest-neighbour distance: probably a duplicate atom."""


def one_line(error):
    """An exception's message on one line (its type name if it has none)."""
    return " ".join(str(error).split()) or type(error).__name__
