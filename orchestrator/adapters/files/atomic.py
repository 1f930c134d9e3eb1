"""Atomic file writes: a temporary file in the same directory, then a rename.

A reader never sees half a record and a crash never leaves a torn file: the state
directory's status records and leases, and the lab's manifests, are all written this way.

Few system calls, because the controller writes one file per Service: open (the temporary
name is this process's and thread's own, so no random name is tried and no exclusive
create can collide; a leftover from a crash is simply truncated), fchmod (the mode exactly,
whatever the umask), write, close, rename. The directory is created only when the open
finds it missing. No fsync, as before: the records are rebuilt from the manifests and the
allocator's restore after a power loss, and a rename is atomic for every reader.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def atomic_write(path: Path, data: str, *, mode: int = 0o644) -> None:
    tmp = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(tmp, _FLAGS, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, _FLAGS, 0o600)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data.encode())
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
