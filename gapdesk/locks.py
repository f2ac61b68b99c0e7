"""One run at a time: an exclusive lock on a file under var/, for commands safe from cron.

The lock is the kernel's (flock), so it is released when the process ends, even when
it is killed; the file says who holds it, for the message a second run gets.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path


@contextmanager
def run_lock(path: Path, busy: Callable[[str], Exception], wait: bool = False) -> Iterator[None]:
    """Hold the lock on ``path``; if another process holds it, raise ``busy(holder)``
    (or, with ``wait``, wait for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            handle.seek(0)
            raise busy(handle.read().strip() or "another process") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now().isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
