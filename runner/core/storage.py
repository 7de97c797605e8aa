"""Why a file could not be written, in words a user can act on.

SQLite reports a full disk as "database or disk is full" but a write past the process's
file-size limit (EFBIG) only as "disk I/O error", and a read-only directory as "unable to
open database file" or a bare `PermissionError`: the cause is named here from the error's
errno or SQLite code, the directory's permissions and the process's RLIMIT_FSIZE.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
from pathlib import Path

from runner.core.errors import UsageError

MB = 1024 * 1024
_FULL = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_SQLITE_READ_ONLY = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")


class StorageError(UsageError):
    """A file of the state directory (its log, its lock, the journal, a code index) cannot be
    written: the run cannot start, and ends like one refused at the start (exit 2) with one
    line saying which file and why."""


def write_failure(directory: Path, exc: BaseException) -> str:
    """The cause of `exc`, raised while writing a file in `directory`, with the error's own text."""
    own = _own_text(exc)
    code = exc.errno if isinstance(exc, OSError) else None
    name = getattr(exc, "sqlite_errorname", "") or ""
    if code in _READ_ONLY or name.startswith(_SQLITE_READ_ONLY) or not _writable(directory):
        return f"{directory} is read-only or not writable by this user ({own})"
    if code in _FULL or name.startswith("SQLITE_FULL"):
        return f"the file system holding {directory} is full ({_free(directory)} free; {own})"
    limit = file_size_limit()
    if limit is not None and (code == errno.EFBIG or name.startswith("SQLITE_IOERR")):
        return f"a file reached the process's file-size limit (RLIMIT_FSIZE, `ulimit -f`: {limit:,} bytes; {own})"
    if code == errno.EFBIG:
        return f"a file grew past the largest size the file system holding {directory} allows ({own})"
    return own


def file_size_limit() -> int | None:
    """The process's soft RLIMIT_FSIZE in bytes, None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft


def _own_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return str(exc) or type(exc).__name__


def _writable(directory: Path) -> bool:
    """False only when `directory` (or, before it is made, its nearest parent) refuses writes:
    `os.access` alone trusts the mode bits, so a read-only mount is asked too."""
    probe = _existing(directory)
    try:
        flags = os.statvfs(probe).f_flag
    except OSError:
        return True
    return os.access(probe, os.W_OK | os.X_OK) and not flags & os.ST_RDONLY


def _free(directory: Path) -> str:
    try:
        return f"{shutil.disk_usage(_existing(directory)).free / MB:,.1f} MB"
    except OSError:
        return "unknown space"


def _existing(directory: Path) -> Path:
    """`directory`, or its nearest parent that is a directory (it may not have been made yet)."""
    probe = Path(directory)
    while not probe.is_dir() and probe != probe.parent:
        probe = probe.parent
    return probe
