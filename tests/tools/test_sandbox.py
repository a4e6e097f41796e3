"""The grading sandbox: a kernel that can write only its own folder and reach no network.

The kernel tests need Linux with bubblewrap (``apt-get install bubblewrap``) and are
skipped elsewhere; the rest checks the parts around it without a kernel.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from fixtures.toy_lesson import CHECKS, LESSON, toy_solution

from vae_course.tools import cli, sandbox
from vae_course.tools.kernel_server import KernelServer
from vae_course.tools.notebook_exec import KernelSession, kernel_env
from vae_course.tools.student_notebook import put_back, student_notebook

BWRAP, WHY = sandbox.bwrap()
REQUIRED = os.environ.get("CI") == "true"  # CI installs bubblewrap: there it must be used
needs_bwrap = pytest.mark.skipif(BWRAP is None and not REQUIRED, reason=f"no sandbox here: {WHY}")


def test_the_sandbox_is_there_where_it_is_required():
    assert BWRAP is not None or not REQUIRED, f"CI must grade in the sandbox, but: {WHY}"


@contextlib.contextmanager
def listening():
    """A TCP server on 127.0.0.1 outside the sandbox; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                server.accept()[0].close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def run_sandboxed(root: Path, sources: list[str], hide=(), cell_timeout=30):
    """Run ``sources`` on a kernel forked by a sandboxed server; (runs, notebook, its folder)."""
    with KernelServer(root, confine=True, hide=list(hide)) as server:
        workspace = server.workspace()
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        with KernelSession(nb, workspace.folder, cell_timeout, None, kernel_env(workspace.env()),
                           client_options=workspace.manager_options()) as kernel:
            runs = kernel.run_all()
    return runs, nb, workspace.folder


@needs_bwrap
def test_the_sandboxed_kernel_writes_only_its_folder_and_reaches_no_network(tmp_path,
                                                                            monkeypatch):
    decoy = tmp_path / "instructor" / "grades.csv"
    decoy.parent.mkdir()
    decoy.write_text("keep me")
    secret = tmp_path / "instructor" / "other_student.ipynb"
    secret.write_text("an answer")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ae-z2-0123.pt").write_bytes(b"weights")
    monkeypatch.setenv("VAE_COURSE_CACHE", str(cache))
    folder = tmp_path / "work"
    folder.mkdir()
    with listening() as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the port answers from outside the sandbox
        runs, nb, folder = run_sandboxed(folder, [
            f"open({str(decoy)!r}, 'w').write('hacked')",
            f"import os\nos.remove({str(decoy)!r})",
            "open('mine.txt', 'w').write('fine'); print(open('mine.txt').read())",
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)",
            f"print(open({str(secret)!r}).read())",
            "import os\nc = os.environ['VAE_COURSE_CACHE']\nprint(open(os.path.join(c, "
            "'ae-z2-0123.pt'), 'rb').read())\nopen(os.path.join(c, 'new.pt'), 'w').write('x')",
            "while True: pass",
            "print('still alive')",
        ], hide=[secret], cell_timeout=5)
    statuses = [(r.status, r.ename) for r in runs]
    assert statuses[0] == ("error", "OSError") and "Read-only" in runs[0].evalue
    assert statuses[1][0] == "error"
    assert decoy.read_text() == "keep me"
    assert statuses[2] == ("ok", "") and (folder / "mine.txt").read_text() == "fine"
    assert statuses[3][0] == "error" and statuses[3][1] in (
        "ConnectionRefusedError", "OSError", "TimeoutError", "PermissionError")
    assert "an answer" not in str(nb.cells[4].outputs)  # another student's file is hidden
    assert statuses[5] == ("ok", "") and "b'weights'" in nb.cells[5].outputs[0]["text"]
    assert sorted(p.name for p in cache.iterdir()) == ["ae-z2-0123.pt"]  # nothing added
    assert (folder / "models" / "new.pt").exists()  # the kernel's own copy of the cache
    assert statuses[6] == ("timed out", "CellTimeoutError")  # interrupts reach it
    assert statuses[7] == ("ok", "") and nb.cells[7].outputs[0]["text"] == "still alive\n"


@needs_bwrap
def test_grading_under_the_sandbox_leaves_the_instructors_files_alone(tmp_path):
    decoy = tmp_path / "grades.csv"
    decoy.write_text("keep me")
    nb = put_back(student_notebook(toy_solution(), LESSON), toy_solution())
    nb.cells.append(nbformat.v4.new_code_cell(f"open({str(decoy)!r}, 'w').write('hacked')"))
    folder = tmp_path / "submissions" / "alice"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "90_toy.ipynb")
    printed, notes = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(notes):
        assert cli.main(["grade", str(tmp_path / "submissions"), "--timeout", "20",
                         "--extra-checks", str(CHECKS)]) == 0
    assert decoy.read_text() == "keep me"
    assert "alice: 2/2 points" in printed.getvalue() and "unconfined" not in notes.getvalue()


def test_without_a_sandbox_grading_works_and_says_so_once(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap", lambda: (None, "bwrap is not installed"))
    solved = put_back(student_notebook(toy_solution(), LESSON), toy_solution())
    for name in ("alice", "bob"):
        nbformat.write(solved, tmp_path / f"{name}-90_toy.ipynb")
    printed, notes = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(notes):
        assert cli.main(["grade", str(tmp_path), "--timeout", "20",
                         "--extra-checks", str(CHECKS)]) == 0
    assert notes.getvalue().count("submissions run unconfined") == 1
    assert "bwrap is not installed" in notes.getvalue()
    assert "alice: 2/2 points" in printed.getvalue() and "bob: 2/2 points" in printed.getvalue()


def test_turning_the_sandbox_off_is_stated(monkeypatch, capsys, tmp_path):
    assert sandbox.notice(confine=True, asked=True) is None
    assert "--no-sandbox" in sandbox.notice(confine=False, asked=False)
    (tmp_path / "x.ipynb").write_text("{}")
    assert cli.main(["grade", str(tmp_path / "x.ipynb"), "--no-sandbox"]) == 0
    assert "--no-sandbox: submissions run unconfined" in capsys.readouterr().err


def test_what_the_kernel_needs_is_never_hidden(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    assert sandbox.hideable([Path("/"), Path(sys.prefix), repo, tmp_path, repo / "solutions"]) \
        == [tmp_path.resolve(), (repo / "solutions").resolve()]


def test_a_workspace_without_a_server_starts_the_usual_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "no-cache-yet"))
    (tmp_path / "w").mkdir()
    workspace = sandbox.Workspace(tmp_path / "w")
    assert workspace.manager_options() == {}
    env = workspace.env()
    assert Path(env["VAE_COURSE_CACHE"]).parent == workspace.folder
    assert all(Path(env[k]).is_dir() for k in ("TMPDIR", "MPLCONFIGDIR", "IPYTHONDIR"))
