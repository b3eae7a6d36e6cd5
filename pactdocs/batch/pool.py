"""Run units of work in worker processes that survive each other's crashes.

Workers are forked from a parent that has already done the fixed work (imports, fonts,
templates, catalogs) and inherit it; each starts once, then takes units one at a time.
A worker that dies or runs past the time limit costs only the unit it held: that unit is
reported failed and a fresh worker takes its place. The pool knows nothing of what a unit is: it
is handed the functions that start a worker, run a unit and describe a unit's failure.

Limits hold in every mode, one worker included (a unit always runs in a worker process, never in
the parent): the time limit per unit, an address-space limit per worker (``RLIMIT_AS``, so that
a runaway unit gets a MemoryError and fails alone), and the parent's life: a worker asks the
kernel to end it when the parent dies (``PR_SET_PDEATHSIG`` on Linux) and checks the parent's
pid besides, so no worker outlives a killed run.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing as mp
import os
import resource
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar, cast

from ..errors import RenderError

U = TypeVar("U")
R = TypeVar("R")


_PR_SET_PDEATHSIG = 1


def tie_to_parent(parent: int) -> None:
    """End this process when the process ``parent`` ends."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(75)
            time.sleep(1.0)

    # The parent may have died before prctl took effect; the watcher covers that and other systems.
    if os.getppid() != parent:
        os._exit(75)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _limit_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    limit = megabytes * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _serve(conn: Connection, start: Callable[[], None], run: Callable[[Any], Any],
           parent: int, memory_mb: int) -> None:
    # The parent decides: Ctrl-C reaches the whole process group, and the parent ends its
    # workers itself; a SIGTERM meant for a worker ends it quietly. The parent forked this
    # process with both signals held back, so none arrived before these lines.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))
    tie_to_parent(parent)
    _limit_memory(memory_mb)
    start()
    conn.send(("ready", None))
    while True:
        try:
            unit = conn.recv()
        except EOFError:
            return
        if unit is None:
            return
        results = run(unit)
        if not isinstance(results, list):  # results as they come, each sent at once
            for batch in results:
                conn.send(("part", batch))
            results = []
        conn.send(("done", results))


class _Queue(Generic[U]):
    """Units waiting for a worker, grouped by affinity key, each group in the given order.

    A worker is given the next unit of the key it last worked on, so that what a worker loads
    for a key (a language's hyphenation patterns, say) is loaded by one worker only; when its
    key runs out it takes the first key no other worker holds, and only then shares one.
    Without an affinity every unit has the same key: plain order.
    """

    def __init__(self, units: list[U], affinity: Callable[[U], Hashable] | None) -> None:
        self._groups: dict[Hashable, deque[U]] = {}
        for unit in units:
            self._groups.setdefault(affinity(unit) if affinity else None, deque()).append(unit)

    def __bool__(self) -> bool:
        return bool(self._groups)

    def clear(self) -> None:
        """Drop every unit still waiting (the run is stopping)."""
        self._groups.clear()

    def take(self, preferred: Hashable, held: set[Hashable]) -> tuple[Hashable, U]:
        key = preferred if preferred in self._groups else next(
            (k for k in self._groups if k not in held), next(iter(self._groups)))
        group = self._groups[key]
        unit = group.popleft()
        if not group:
            del self._groups[key]
        return key, unit


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep the objects made so far out of the garbage collector while workers are forked.

    A collection in a worker would walk (and so write to) every object it inherited, copying
    the parent's pages one by one; frozen objects are never walked, so the pages stay shared.
    No collection first: it would walk the whole heap of a process that has just imported
    WeasyPrint (50 ms, a tenth of a one-document run), to free the little garbage of the
    imports, which stays frozen until the pool ends instead.

    The collector is on from here, in the workers and in this process, whether or not it was
    before (the ``pactdocs`` command starts with it off: :func:`pactdocs.cli.run`).
    """
    gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        gc.unfreeze()


def run_pool(units: list[U], on_results: Callable[[list[R]], None], *,
             start: Callable[[], None], run: Callable[[U], list[R] | Iterable[list[R]]],
             failed: Callable[[U, str], list[R]], jobs: int, timeout: float,
             memory_mb: int = 0, affinity: Callable[[U], Hashable] | None = None) -> None:
    """Run ``units`` in this order; call ``on_results`` with each unit's results as they arrive.

    ``start`` prepares a worker (once per process), ``run`` renders one unit and returns its
    results, or yields them in batches as they come (each reaches ``on_results`` at once, so a
    worker stopped halfway has reported what it finished), ``failed`` gives the results of a
    unit whose worker died or ran past ``timeout`` seconds (those it had not reported).
    ``memory_mb`` caps the address space of each worker (0: no cap). ``affinity`` gives a
    unit's key: a worker keeps to one key while it has units (see :class:`_Queue`).

    Work every worker needs belongs in this process before the call: workers are forked and
    inherit it; ``start`` is for what a process cannot share.
    """
    if not units:
        return
    jobs = max(1, min(jobs, len(units), os.cpu_count() or 1))
    queue = _Queue(units, affinity)
    context = mp.get_context("fork")
    workers: dict[Connection, dict[str, Any]] = {}

    def spawn() -> None:
        parent, child = context.Pipe()
        process = context.Process(target=_serve, daemon=True,
                                  args=(child, start, run, os.getpid(), memory_mb))
        held = signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM))
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        child.close()
        workers[parent] = {"process": process, "unit": None, "since": 0.0, "ready": False,
                           "key": None}

    def give(conn: Connection) -> None:
        state = workers[conn]
        if queue:
            held = {s["key"] for c, s in workers.items() if c is not conn and s["unit"] is not None}
            state["key"], unit = queue.take(state["key"], held)
            state["unit"], state["since"] = unit, time.monotonic()
            conn.send(unit)
        else:
            state["unit"] = None
            conn.send(None)

    deaths_before_ready = 0

    def fail(conn: Connection, reason: str) -> None:
        nonlocal deaths_before_ready
        state = workers.pop(conn)
        if not state["ready"]:
            deaths_before_ready += 1
            if deaths_before_ready >= 3:
                for other in workers.values():
                    other["process"].kill()
                raise RenderError("worker processes die while starting",
                                  hint="run with --jobs 1 to see the error")
        unit = state["unit"]
        state["process"].kill()
        state["process"].join()
        conn.close()
        if unit is not None:
            on_results(failed(unit, reason))
        if queue:
            spawn()

    try:
        with _frozen_heap():
            _loop(workers, spawn, give, fail, on_results, jobs, timeout)
    except KeyboardInterrupt:
        # Stopping (Ctrl-C, SIGTERM): no new units; a unit a worker is finishing is waited for
        # a moment, so a document already on disk is reported and recorded; what a worker
        # stopped then had reported is still read from its pipe.
        queue.clear()
        _drain(workers, on_results, time.monotonic() + _DRAIN_SECONDS)
        for state in workers.values():
            state["process"].kill()
            state["process"].join()
        _read_left(workers, on_results)
        raise
    finally:
        for state in workers.values():
            state["process"].kill()
            state["process"].join()


# How long a stopping run waits for units its workers are finishing.
_DRAIN_SECONDS = 1.0


def _drain(workers: dict[Connection, dict[str, Any]], on_results: Callable[[Any], None],
           deadline: float) -> None:
    busy = {c for c, s in workers.items() if s["unit"] is not None}
    while busy and time.monotonic() < deadline:
        for ready in wait(list(busy), timeout=max(0.0, deadline - time.monotonic())):
            conn = cast(Connection, ready)
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                busy.discard(conn)
                continue
            if kind in ("part", "done"):
                on_results(payload)
            if kind == "done":
                workers[conn]["unit"] = None
                busy.discard(conn)


def _read_left(workers: dict[Connection, dict[str, Any]],
               on_results: Callable[[Any], None]) -> None:
    """Hand on the results stopped workers had sent and nobody read (a message cut short by
    the stop is not a result)."""
    for conn in workers:
        try:
            while conn.poll(0):
                kind, payload = conn.recv()
                if kind in ("part", "done"):
                    on_results(payload)
        except Exception:  # noqa: BLE001 - EOF, or the last message torn by the kill
            continue


def _loop(workers: dict[Connection, dict[str, Any]], spawn: Callable[[], None],
          give: Callable[[Connection], None], fail: Callable[[Connection, str], None],
          on_results: Callable[[Any], None], jobs: int, timeout: float) -> None:
    for _ in range(jobs):
        spawn()
    tick = min(1.0, max(0.05, timeout / 4))
    while workers:
        busy = [c for c, s in workers.items() if s["unit"] is not None or not s["ready"]]
        if not busy:
            for conn in list(workers):
                workers.pop(conn)["process"].join()
                conn.close()
            break
        for ready in wait(list(workers), timeout=tick):
            conn = cast(Connection, ready)
            state = workers[conn]
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                code = state["process"].exitcode
                fail(conn, f"worker process died (exit code {code}) while rendering this document")
                continue
            if kind == "ready":
                state["ready"] = True
            elif kind == "part":  # more of the same unit to come
                on_results(payload)
                continue
            else:
                on_results(payload)
            give(conn)
            if state["unit"] is None:
                workers.pop(conn)["process"].join()
                conn.close()
        now = time.monotonic()
        for conn, state in list(workers.items()):
            if state["unit"] is not None and now - state["since"] > timeout:
                fail(conn, f"rendering took longer than {timeout:g} s and was stopped")
            elif not state["process"].is_alive() and conn in workers:
                fail(conn, f"worker process died (exit code {state['process'].exitcode})")
