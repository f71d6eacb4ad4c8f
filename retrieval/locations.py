"""Places Sanad writes to (an index, evaluation outputs): checked before any work is done on them."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


class LocationError(Exception):
    """Sanad cannot or must not write where it was told to; the message names the place and what to do."""


def ensure_writable_folder(folder: Path, what: str, flag: str) -> Path:
    """`folder`, created if missing, once a file could be made and removed in it; else LocationError.

    `what` names what would be written there and `flag` the option that chose the place, for the message.
    """
    if folder.exists() and not folder.is_dir():
        raise LocationError(f"Cannot write {what}: {folder} is a file, not a folder; it was left untouched. "
                            f"Pass {flag} with a folder.")  # fmt: skip
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".sanad-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        # /proc and similar pseudo file systems answer "no such file" for a name they will not create.
        reason = "it does not take new files" if err.errno == errno.ENOENT and folder.is_dir() else err.strerror or str(err)
        raise LocationError(
            f"Cannot write {what}: {folder}: {reason}. Pass {flag} with a folder you can write to."
        ) from None
    return folder
