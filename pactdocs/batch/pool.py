"""Run units of work in worker processes that survive each other's crashes.

Each worker starts once (imports, fonts, templates, catalogs), then takes units one at a time.
A worker that dies or runs past the time limit costs only the unit it held: that unit is
reported failed and a fresh worker takes its place. The pool knows nothing of what a unit is: it
is handed the functions that start a worker, run a unit and describe a unit's failure.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar, cast

from ..errors import RenderError

U = TypeVar("U")
R = TypeVar("R")


def _serve(conn: Connection, start: Callable[[], None], run: Callable[[Any], Any]) -> None:
    start()
    conn.send(("ready", None))
    while True:
        try:
            unit = conn.recv()
        except EOFError:
            return
        if unit is None:
            return
        conn.send(("done", run(unit)))


def run_pool(units: list[U], on_results: Callable[[list[R]], None], *,
             start: Callable[[], None], run: Callable[[U], list[R]],
             failed: Callable[[U, str], list[R]], jobs: int, timeout: float) -> None:
    """Run ``units`` in this order; call ``on_results`` with each unit's results as they arrive.

    ``start`` prepares a worker (once per process), ``run`` renders one unit, ``failed`` gives the
    results of a unit whose worker died or ran past ``timeout`` seconds.
    """
    if not units:
        return
    jobs = max(1, min(jobs, len(units)))
    if jobs == 1:
        start()
        for unit in units:
            on_results(run(unit))
        return
    queue = list(reversed(units))
    context = mp.get_context("fork")
    workers: dict[Connection, dict[str, Any]] = {}

    def spawn() -> None:
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, start, run), daemon=True)
        process.start()
        child.close()
        workers[parent] = {"process": process, "unit": None, "since": 0.0, "ready": False}

    def give(conn: Connection) -> None:
        state = workers[conn]
        if queue:
            unit = queue.pop()
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

    for _ in range(jobs):
        spawn()
    while workers:
        busy = [c for c, s in workers.items() if s["unit"] is not None or not s["ready"]]
        if not busy:
            for conn in list(workers):
                workers.pop(conn)["process"].join()
                conn.close()
            break
        for ready in wait(list(workers), timeout=1.0):
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
