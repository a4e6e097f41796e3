"""Running a notebook's cells in a kernel (vae_course.tools.notebook_exec): timeouts, a
stuck kernel, a dead kernel."""

import nbformat

from vae_course.tools.notebook_exec import KernelSession


def run_cells(tmp_path, sources, **limits):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    with KernelSession(nb, tmp_path, **limits) as kernel:
        return [(r.status, r.ename) for r in kernel.run_all()], nb


def test_a_cell_past_its_timeout_is_stopped_and_the_next_cells_run(tmp_path):
    runs, nb = run_cells(tmp_path, ["x = 1", "while True: pass", "print(x)", "1 / 0",
                                    "import os; os._exit(1)", "print(2)"], cell_timeout=3)
    assert runs == [("ok", ""), ("timed out", "CellTimeoutError"), ("ok", ""),
                    ("error", "ZeroDivisionError"), ("kernel died", "DeadKernelError"),
                    ("not run", "")]
    assert nb.cells[2].outputs[0]["text"] == "1\n"


def test_a_kernel_that_ignores_interrupts_stops_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr("vae_course.tools.notebook_exec.IDLE_TIMEOUT", 2)
    runs, _ = run_cells(tmp_path, ["import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                   "while True: pass", "print(1)"], cell_timeout=2)
    assert [status for status, _ in runs] == ["timed out", "not run"]


def test_the_notebook_limit_stops_the_remaining_cells(tmp_path):
    runs, _ = run_cells(tmp_path, ["import time; time.sleep(2)", "time.sleep(5)", "print(1)"],
                        cell_timeout=60, notebook_timeout=4)
    assert [status for status, _ in runs] == ["ok", "timed out", "not run"]
