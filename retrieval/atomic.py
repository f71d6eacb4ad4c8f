"""Atomic writes: a reader, or a crash, sees the old file (or folder) or the new one, never half of one.

The one way Sanad replaces what it writes (indexes, models, reports, checkpoints); it lives in the
lowest layer so that `retrieval` and `qa` share it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` when the block succeeds, removed
    when it fails. The temporary name ends with `path`'s name, so tools that go by suffix still work."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{path.name}", dir=path.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        with staging.open("rb") as written:
            os.fsync(written.fileno())
        # mkstemp creates the file private (0600); Sanad's outputs are ordinary files: honour the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o666 & ~umask)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` (text as UTF-8) to `path` atomically."""
    with atomic_path(path) as staging:
        staging.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_once(path: Path, data: bytes | str) -> bool:
    """Create `path` holding `data` (private to the user, 0600) unless it exists; never replaces it, even
    when another process creates it at the same moment. Whether this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{path.name}", dir=path.parent)
    staging = Path(name)
    try:
        with os.fdopen(handle, "wb") as written:
            written.write(data.encode("utf-8") if isinstance(data, str) else data)
            written.flush()
            os.fsync(written.fileno())
        os.link(staging, path)  # unlike a rename, a link fails when `path` exists
        return True
    except FileExistsError:
        return False
    finally:
        staging.unlink(missing_ok=True)


def swap_folder(staging: Path, target: Path, retired_tag: str = "retired") -> None:
    """Replace the folder `target` with the complete folder `staging`, so that at every instant one
    complete folder is at `target` or none; the previous one is renamed aside, then removed.

    The caller has checked that `target` is missing or one Sanad made: nothing else is ever removed.
    """
    if not target.exists():
        os.replace(staging, target)
        return
    retired = target.with_name(f".{target.name}.{retired_tag}-{os.getpid()}-{secrets.token_hex(4)}")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
