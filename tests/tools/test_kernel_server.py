"""The warm kernel server (vae_course.tools.kernel_server): each forked kernel starts
clean, cannot see what the kernel before it did, and leaves nothing running."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

from vae_course.tools import sandbox
from vae_course.tools.kernel_server import KernelServer, ServerError
from vae_course.tools.notebook_exec import KernelSession, kernel_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="kernels are forked only on Linux")
CONFINE = [False] + ([True] if sandbox.bwrap()[0] else [])


def run(server: KernelServer, *sources: str) -> tuple[list[str], list[str], Path]:
    """Run ``sources`` on a fresh kernel of ``server``: (statuses, printed texts, folder)."""
    workspace = server.workspace()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    with KernelSession(nb, workspace.folder, 20, None, kernel_env(workspace.env()),
                       client_options=workspace.manager_options()) as kernel:
        runs = kernel.run_all()
    printed = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    return [r.status for r in runs], printed, workspace.folder


LEAVES_TRACES = """\
import os, subprocess, sys, torch, vae_course
vae_course.LEFT_BEHIND = torch.LEFT_BEHIND = 1
print(torch.initial_seed())
torch.manual_seed(1234)
os.environ["LEFT_BEHIND"] = "1"
open("mine.txt", "w").write("x")
open("../next_to_mine.txt", "w").write("x")
if os.getpid() < 100:  # in the sandbox's PID namespace, whose /dev is its own
    open("/dev/shm/shared", "w").write("x")
open(os.path.join(os.environ["TMPDIR"], "..", "..", "tmp", "in_the_servers_tmp"), "w")
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"],
                           start_new_session=True)
print(sleeper.pid)"""

FINDS_NONE = """\
import os, torch, vae_course
print(hasattr(vae_course, "LEFT_BEHIND"), hasattr(torch, "LEFT_BEHIND"),
      "LEFT_BEHIND" in os.environ, sorted(os.listdir(".")), torch.initial_seed())
print(sorted(os.listdir("..")), os.listdir("../tmp"), os.getpid() < 100 and os.listdir("/dev/shm"))
import sys
print(os.path.basename(sys.argv[0]), sys.argv[1])"""


@pytest.mark.parametrize("confine", CONFINE, ids=lambda c: "sandboxed" if c else "unconfined")
def test_each_kernel_starts_clean_and_nothing_of_the_last_one_survives(tmp_path, confine):
    with KernelServer(tmp_path, confine) as server:
        statuses, printed, first = run(server, LEAVES_TRACES)
        assert statuses == ["ok"], printed
        seed, sleeper = map(int, printed[0].split())
        statuses, printed, second = run(server, FINDS_NONE, "print(os.getpid())")
    assert statuses == ["ok", "ok"]
    assert printed[0].split("[")[0] == "False False False "
    assert "mine.txt" not in printed[0] and second != first
    assert printed[0].split("\n")[1] == str(sorted(["cache", "ipython", "matplotlib", "tmp",
                                                     second.name])) + (" [] []" if confine else " [] False")
    assert printed[0].split("\n")[2] == "ipykernel_launcher.py -f"  # as jupyter starts one
    # torch's generator starts where the first kernel's started, not where it was left
    assert int(printed[0].split("\n")[0].split("]")[1]) == seed != 1234
    if not confine:  # in the sandbox its pid is another namespace's
        assert not Path(f"/proc/{sleeper}").exists(), "a process a kernel started survived it"


@pytest.mark.skipif(not sandbox.bwrap()[0], reason=f"no sandbox here: {sandbox.bwrap()[1]}")
def test_in_the_sandbox_a_kernel_cannot_end_its_server(tmp_path):
    with KernelServer(tmp_path, confine=True) as server:
        statuses, printed, _ = run(server, "import os, signal\nprint(os.getppid())\n"
                                           "os.kill(os.getppid(), signal.SIGKILL)",
                                   "import time\ntime.sleep(1)\nprint('after')")
        assert statuses == ["ok", "ok"] and printed == ["1\n", "after\n"]
        statuses, _, _ = run(server, "print('the same server')")
        assert statuses == ["ok"] and server.ask(op="clean") == {"ended": 0}


def test_unconfined_a_kernel_that_ends_its_server_ends_with_it_and_the_next_has_a_new_one(
        tmp_path):
    with KernelServer(tmp_path, confine=False) as server:
        statuses, _, _ = run(server, "import os, signal, time\n"
                                     "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(5)",
                             "print('after')")
        assert statuses == ["kernel died", "not run"]
        statuses, printed, _ = run(server, "print('a new server')")
    assert statuses == ["ok"] and printed == ["a new server\n"]


def test_elsewhere_than_on_linux_kernels_start_as_usual(tmp_path, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(sys, "platform", "darwin")
        server = KernelServer(tmp_path, confine=False)
    with server:
        workspace = server.workspace()
        assert workspace.manager_options() == {} and server._process is None
        statuses, printed, _ = run(server, "import os\nprint(os.getcwd())")
    assert statuses == ["ok"] and printed[0].strip().startswith(str(tmp_path.resolve()))


def test_the_environment_given_reaches_the_kernels(tmp_path):
    with KernelServer(tmp_path, confine=False, env={"OMP_NUM_THREADS": "1"}) as server:
        statuses, printed, _ = run(server, "import os, torch\n"
                                           "print(os.environ['OMP_NUM_THREADS'], torch.get_num_threads())")
    assert statuses == ["ok"] and printed == ["1 1\n"]


def test_a_request_it_does_not_know_or_a_closed_server_is_refused_clearly(tmp_path):
    server = KernelServer(tmp_path, confine=False)
    server.workspace()  # starts it
    with pytest.raises(ServerError, match="has no attribute 'format_disk'"):
        server.ask(op="format_disk")
    assert server.ask(op="clean") == {"ended": 0}  # it still answers, in step
    server.close()
    with pytest.raises(ServerError, match="closed"):
        server.workspace()
    with pytest.raises(ServerError, match="ended"):
        server.ask(op="clean")
