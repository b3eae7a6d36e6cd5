"""Do one piece of work in a forked process while this one goes on with another.

A run in a new output folder must load the registry (its schemas and their import cost a
quarter of a second) and set up its writers (WeasyPrint's import, fonts, a first page: half a
second), and neither needs the other. On a machine with a second core the registry is loaded
aside, in a child forked before either begins, and handed back as bytes; the parent sets up the
writers meanwhile. Nothing is done twice: the child does what the parent would have done.

The child ends with the parent (as a worker does), ignores Ctrl-C (the parent decides), and
says nothing: a failure in it only means the parent does the work itself, and so reports the
error as it always does.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .pool import tie_to_parent

T = TypeVar("T")


class Aside:
    """``fn`` running in a forked child; :meth:`result` returns the bytes it returned."""

    def __init__(self, fn: Callable[[], bytes]) -> None:
        self._read, write = os.pipe()
        parent = os.getpid()
        held = signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM))
        try:
            self.pid = os.fork()
        except OSError:
            os.close(self._read)
            os.close(write)
            self.pid = -1
            return
        finally:
            if os.getpid() == parent:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if self.pid == 0:  # the child
            code = 1
            try:
                os.close(self._read)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))
                tie_to_parent(parent)
                data = fn()
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(len(data).to_bytes(8, "big") + data)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent does the work again and reports
                pass
            finally:
                os._exit(code)
        os.close(write)

    def result(self, timeout: float = 120.0) -> bytes | None:
        """Return what the child returned, or None when it failed or took longer than
        ``timeout`` seconds (it is then stopped)."""
        if self.pid < 0 or self._read < 0:
            return None
        deadline = time.monotonic() + timeout
        chunks = []
        finished = False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._read], [], [], left)[0]:
                    return None
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    finished = True
                    break
                chunks.append(chunk)
        finally:
            os.close(self._read)
            self._read = -1
            if not finished:  # too slow, or this process is stopping: the child goes too
                os.kill(self.pid, signal.SIGKILL)
            _reap(self.pid)
        data = b"".join(chunks)
        size = int.from_bytes(data[:8], "big")
        return data[8:] if len(data) >= 8 and len(data) - 8 == size else None

    def discard(self) -> None:
        """Stop the child if its result was not taken (this process went another way)."""
        self.result(timeout=0)


def pickled(value: Any) -> bytes:
    """``value`` as a child hands it back (read by :func:`unpickled`)."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def unpickled(data: bytes | None, kind: type[T]) -> T | None:
    """The object of type ``kind`` a child of this process pickled into ``data``, or None
    (the child could not say: this process then does the work itself)."""
    if not data:
        return None
    try:
        found = pickle.loads(data)  # noqa: S301 - written by this process's own fork
    except Exception:  # noqa: BLE001
        return None
    return found if isinstance(found, kind) else None


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
