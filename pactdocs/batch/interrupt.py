"""Stop a run cleanly on SIGINT (Ctrl-C) and SIGTERM (``timeout``, cron, systemd).

Both signals raise :class:`Stop` (a ``KeyboardInterrupt``) in the main thread, so the code that
already winds a run down on Ctrl-C does the same for SIGTERM: the workers are ended, what they
finished is recorded, the manifest is written and temporary files are removed. While that
happens a second signal is held back, so the winding down itself is never cut short.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(KeyboardInterrupt):
    """The run was asked to stop by signal ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Stop(signum)


@contextmanager
def stoppable() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Stop` inside the block (main thread only)."""
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, _raise)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back inside the block; they are delivered after it."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def as_stop(exc: KeyboardInterrupt) -> Stop:
    """Return ``exc`` as a Stop (a plain KeyboardInterrupt is SIGINT)."""
    return exc if isinstance(exc, Stop) else Stop(signal.SIGINT)
