"""Writing files so that a failed or interrupted run never truncates or replaces a user's file.

:func:`atomic_output` writes into a temporary file beside the target and moves it into place
(``os.replace``, atomic on POSIX and Windows) only when everything was written; on an error or
Ctrl-C the temporary file is removed and the old file, if any, is untouched.
:func:`check_output_path` validates a target before any computation starts.
"""

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import InputError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path, mode="w", **open_options):
    """A file handle whose contents replace ``path`` only when the ``with`` block completes.

    Parameters
    ----------
    path : path-like
    mode : {"w", "wb"}, default="w"
    **open_options
        Passed to ``open`` (e.g. ``encoding="utf-8"``).
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                     dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def check_output_path(path, *, inputs=(), what="output"):
    """Refuse an output path before any work: a directory, a missing or unwritable folder, or
    one of the ``inputs`` (the same file, by path or by inode).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"The {what} {path} is a directory; give a file name.")
    if not folder.is_dir():
        raise InputError(f"The folder of the {what} {path} does not exist; create {folder} "
                         "first.")
    if not os.access(folder, os.W_OK):
        raise InputError(f"The folder {folder} is not writable: choose another place for the "
                         f"{what}.")
    for source in inputs:
        source = Path(source)
        same = path.resolve() == source.resolve() or (
            path.exists() and source.exists() and os.path.samefile(path, source))
        if same:
            raise InputError(f"The {what} {path} is the input file {source}: writing it would "
                             "replace the input. Choose another output name.")
    return path
