"""Execute a notebook's cells one by one in a fresh kernel, surviving whatever they do.

A cell may raise (recorded, execution goes on), run too long (interrupted, recorded
as timed out, execution goes on once the kernel is idle again), or kill the kernel
(recorded; nothing after it can run). Used by the grader and by the tests that run
the student notebooks.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode



class CellStatus(StrEnum):
    """How one cell ran (or why it did not)."""

    OK = "ok"
    ERROR = "error"
    TIMED_OUT = "timed out"
    KERNEL_DIED = "kernel died"
    NOT_RUN = "not run"  # an earlier cell broke the notebook (its time limit, a dead kernel)
    SKIPPED = "killed the kernel"  # left out of a rerun because it killed the kernel before


_ASYNCIO_LOG = logging.getLogger("asyncio")
CELL_OUTPUT_LIMIT = 1_000_000  # characters of output one cell keeps
TOTAL_OUTPUT_LIMIT = 20_000_000  # characters of output all cells together keep
_TIMEOUT_NAME = "CellTimeoutError"
IDLE_TIMEOUT = 10  # seconds an interrupted kernel gets to become idle again (it takes milliseconds)


@dataclass
class CellRun:
    """How one cell ran."""

    index: int  # position in the notebook, 0-based
    status: CellStatus
    ename: str = ""  # exception name, for errors
    evalue: str = ""  # exception message, or why the cell did not run


def first_error(cell: NotebookNode) -> tuple[str, str] | None:
    """(ename, evalue) of the first error output of ``cell``, or None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", ""), out.get("evalue", "")
    return None


def kernel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment: this process's (VAE_COURSE_DATA, VAE_COURSE_CACHE ...),
    a non-interactive plotting backend, and ``extra``."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.update(extra or {})
    return env


class CappedClient(NotebookClient):
    """nbclient's client, keeping at most ``cell_limit`` characters of each cell's output
    and ``total_limit`` in all; what is dropped is replaced by one note per cell.

    A cell that prints 200 MB then costs the grader a few MB of memory, not hundreds.
    Set ``capping = False`` for cells whose output must be kept whole.
    """

    def __init__(self, nb, cell_limit: int = CELL_OUTPUT_LIMIT,
                 total_limit: int = TOTAL_OUTPUT_LIMIT, **kwargs):
        super().__init__(nb, **kwargs)
        self.cell_limit, self.total_limit = cell_limit, total_limit
        self.capping = True
        self.used: dict[int, int] = {}
        self.capped: list[int] = []  # cells whose output was cut, in order

    @property
    def total(self) -> int:
        return sum(self.used.values())

    def output(self, outs, msg, display_id, cell_index):
        if not self.capping or msg.get("msg_type") not in (
                "stream", "display_data", "execute_result", "error", "update_display_data"):
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self.used.get(cell_index, 0)
        if used + size > self.cell_limit or self.total + size > self.total_limit:
            if cell_index not in self.capped:
                self.capped.append(cell_index)
                limit = (f"{self.cell_limit:,} characters in one cell"
                         if used + size > self.cell_limit
                         else f"{self.total_limit:,} characters in the whole notebook")
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"[output capped: more than {limit}; the rest was dropped]\n"))
            return None
        self.used[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)


class KernelSession:
    """A kernel running the cells of ``nb`` on request; use it as a context manager.

    Args:
        nb: the notebook; its cells receive their outputs. Append cells to run more.
        cwd: the kernel's working folder.
        cell_timeout: seconds one cell may run before it is interrupted.
        notebook_timeout: seconds all cells together may run (None: no limit).
        env: the kernel's environment (default :func:`kernel_env`).
        client_options: more options for nbclient's NotebookClient, e.g. the
            ``kernel_manager_class`` of a sandbox (see :mod:`vae_course.tools.sandbox`).
    """

    def __init__(self, nb: NotebookNode, cwd: Path, cell_timeout: float,
                 notebook_timeout: float | None = None, env: dict[str, str] | None = None,
                 kernel_name: str = "python3", client_options: dict | None = None):
        self.nb = nb
        self.cell_timeout = cell_timeout
        self.notebook_timeout = notebook_timeout
        self.env = env if env is not None else kernel_env()
        # On a timeout nbclient interrupts the kernel and hands back this reply instead
        # of raising, which also ends its wait for the cell's outputs cleanly.
        self.client = CappedClient(
            nb, timeout=None, allow_errors=True, interrupt_on_timeout=True,
            error_on_timeout={"ename": _TIMEOUT_NAME, "evalue": "", "traceback": []},
            on_cell_executed=self._record_reply, kernel_name=kernel_name,
            store_widget_state=False, record_timing=False, shutdown_kernel="immediate",
            resources={"metadata": {"path": str(cwd)}}, **(client_options or {}))
        self._reply: dict = {}
        self.broken: tuple[str, str] | None = None  # (status, why) once no cell can run
        self.culprit: int | None = None  # the cell that ended or jammed the kernel, if one did
        self._deadline = math.inf
        self._context = None

    def __enter__(self) -> KernelSession:
        # The kernel's own log lines and asyncio's notes about tasks cut short by a
        # timeout would only clutter the caller's output.
        self._asyncio_level = _ASYNCIO_LOG.level
        _ASYNCIO_LOG.setLevel(logging.CRITICAL)
        self._context = self.client.setup_kernel(env=self.env, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)
        self._context.__enter__()
        if self.notebook_timeout:
            self._deadline = time.monotonic() + self.notebook_timeout
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._context.__exit__(*exc)
        finally:
            _ASYNCIO_LOG.setLevel(self._asyncio_level)

    def run(self, index: int) -> CellRun:
        """Run cell ``index`` (markdown and empty cells count as ok) and say how it went."""
        cell = self.nb.cells[index]
        if cell.cell_type != "code" or not cell.source.strip():
            return CellRun(index, CellStatus.OK)
        if self.broken:
            return CellRun(index, CellStatus.NOT_RUN, evalue=self.broken[1])
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.broken = (CellStatus.TIMED_OUT, f"the notebook ran past its limit of "
                                      f"{self.notebook_timeout:.0f} s")
            return CellRun(index, CellStatus.NOT_RUN, evalue=self.broken[1])
        limit = min(self.cell_timeout, left)
        self.client.timeout = max(1, math.ceil(limit))
        try:
            self._reply = {}
            self.client.execute_cell(cell, index)
            if self._timed_out():
                self._wait_until_idle(index)
                return CellRun(index, CellStatus.TIMED_OUT, "CellTimeoutError",
                               f"ran longer than {limit:.0f} s and was stopped")
        except DeadKernelError:
            self.broken = (CellStatus.KERNEL_DIED, f"the kernel died while running cell {index + 1}")
            self.culprit = index
            return CellRun(index, CellStatus.KERNEL_DIED, "DeadKernelError", self.broken[1])
        if self._asked_to_exit():  # IPython's exit() or quit(): the kernel ends after the cell
            self.broken = (CellStatus.KERNEL_DIED, f"cell {index + 1} called exit() or quit(), "
                                                   f"which ends the kernel")
            self.culprit = index
            return CellRun(index, CellStatus.KERNEL_DIED, "SystemExit", self.broken[1])
        error = first_error(cell)
        return CellRun(index, CellStatus.ERROR, *error) if error else CellRun(index, CellStatus.OK)

    def run_all(self) -> list[CellRun]:
        return [self.run(i) for i in range(len(self.nb.cells))]

    def _record_reply(self, cell, cell_index, execute_reply) -> None:
        self._reply = execute_reply or {}

    def _asked_to_exit(self) -> bool:
        payload = self._reply.get("content", {}).get("payload") or []
        return any(isinstance(p, dict) and p.get("source") == "ask_exit"
                   and not p.get("keepkernel") for p in payload)

    def _timed_out(self) -> bool:
        return self._reply.get("content", {}).get("ename") == _TIMEOUT_NAME

    def _wait_until_idle(self, index: int) -> None:
        """After a timeout (the kernel was interrupted), check that the kernel answers again."""
        ping = nbformat.v4.new_code_cell("pass")
        self.nb.cells.append(ping)
        self.client.timeout = IDLE_TIMEOUT
        try:
            self._reply = {}
            self.client.execute_cell(ping, len(self.nb.cells) - 1)
            if self._timed_out():
                self.broken = (CellStatus.TIMED_OUT, f"the kernel stayed busy after cell {index + 1} "
                                          f"timed out")
                self.culprit = index  # it ignored the interrupt
        except DeadKernelError:
            self.broken = (CellStatus.KERNEL_DIED, f"the kernel died after cell {index + 1} timed out")
            self.culprit = index
        finally:
            self.nb.cells.pop()
