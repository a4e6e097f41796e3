"""Fresh kernels in a fraction of a second: one warm process forks a kernel per notebook.

A kernel started the usual way is a new Python that imports ipykernel, torch and the
course before it runs a cell: about three seconds, paid for every notebook graded.
:class:`KernelServer` starts one process (in the sandbox, where there is one) that
imports them once, then forks a child for each kernel asked for. The child becomes an
ordinary IPython kernel in its own folder, with its own environment, and starts from the
server's state, which no submission's code ever runs in: each notebook begins as clean
as on a kernel of its own. One student's notebooks share a server; the next student gets
a new one, in a new sandbox, so nothing a submission does can reach another student's.

The server does what the grader asks, one JSON line at a time on its standard input,
and answers one line on its standard output:

    {"op": "start", "connection_file": F, "cwd": D, "env": {...}}  -> {"pid": N}
    {"op": "poll", "pid": N}               -> {"exit": null} while it runs, else its status
    {"op": "signal", "pid": N, "signal": S} -> {}      (to the kernel's process group)
    {"op": "clean"}                        -> {"ended": K}  (every process left behind)

At the end of its input it ends every process it started, and itself. It is a child
subreaper (Linux), so what a kernel starts and leaves behind comes back to it and is
ended by ``clean``, which the grader asks for after each kernel. In the sandbox it is
the first process of its PID namespace, which a kernel can neither signal nor trace;
unconfined, student code runs with the instructor's rights and could end it (the next
kernel then gets a new server).

Elsewhere than on Linux there is no server: kernels start as usual (on macOS, system
libraries are not safe to use in a child forked after they were loaded; Windows has no
``fork``).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from . import sandbox
from .notebook_exec import kernel_env

# What every graded kernel imports (ipykernel, and the grader's check, which brings torch
# and the checks): loaded before the server says it is ready.
CORE = ("numpy", "torch", "ipykernel.kernelapp", "ipykernel.ipkernel",
        "vae_course.tools.grader_cell")
# What the notebooks import besides: loaded first too where a student has several
# notebooks (a server for one kernel would spend longer importing them than it saves).
WARM = ("torch.nn.functional", "torch.distributions", "vae_course", "vae_course.models",
        "vae_course.train", "vae_course.claims", "vae_course.data", "matplotlib.pyplot",
        "matplotlib.figure", "matplotlib.patches", "IPython.display", "tqdm.auto",
        "vae_course.plots", "ipywidgets", "vae_course.interactive", "torchvision")
SCRATCH = {"TMPDIR": "tmp", "MPLCONFIGDIR": "matplotlib", "XDG_CACHE_HOME": "cache",
           "IPYTHONDIR": "ipython"}  # the server's own folders under its root
START_TIMEOUT = 300  # seconds the server may take to import what it warms
ANSWER_TIMEOUT = 60  # seconds it may take to answer one request


class ServerError(RuntimeError):
    """The kernel server did not start or stopped answering."""


# ---- the server: runs in its own process ---------------------------------------------

def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
        except (OSError, AttributeError):
            pass


_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER = 1, 4, 36


def _children(me: int) -> set[int]:
    """The processes whose parent is ``me`` (from /proc; empty where there is none)."""
    kids = set()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                kids.add(int(entry))
    return kids


class _Server:
    def __init__(self):
        self.started: set[int] = set()
        self.exits: dict[int, int] = {}

    def start(self, connection_file: str, cwd: str, env: dict[str, str]) -> dict:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _become_kernel(connection_file, cwd, env)
                code = 0
            finally:
                os._exit(code)
        self.started.add(pid)
        return {"pid": pid}

    def poll(self, pid: int) -> dict:
        if pid not in self.exits:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                return {"exit": None}
            self.exits[pid] = os.waitstatus_to_exitcode(status) if status else 0
        return {"exit": self.exits[pid]}

    def signal(self, pid: int, signal: int) -> dict:
        if pid in self.started and pid not in self.exits:
            try:
                os.killpg(pid, signal)
            except OSError:
                try:
                    os.kill(pid, signal)
                except OSError:
                    pass
        return {}

    def clean(self) -> dict:
        """End every process below the server (kernels and what they left) and reap them."""
        ended = 0
        for _ in range(100):
            alive = (_children(os.getpid()) | self.started) - set(self.exits)
            if not alive:
                break
            for pid in alive:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            for pid in alive:
                try:
                    _, status = os.waitpid(pid, 0)
                    self.exits[pid] = os.waitstatus_to_exitcode(status) if status else 0
                except ChildProcessError:
                    self.exits[pid] = -signal.SIGKILL
                ended += 1
        if os.getpid() == 1:  # in the sandbox, whose /dev is its own: empty its shared memory
            for entry in Path("/dev/shm").iterdir() if Path("/dev/shm").is_dir() else []:
                _remove(entry)
        return {"ended": ended}


def _become_kernel(connection_file: str, cwd: str, env: dict[str, str]) -> None:
    """In the forked child: leave the server behind and run an IPython kernel."""
    os.setsid()  # its own process group: interrupts and kills reach it and its children
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_DUMPABLE, 1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the server's pipes to the grader are not the kernel's
        os.dup2(null, fd)
    os.close(null)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # found again from the kernel's TMPDIR
    import importlib.util

    # what a kernel started by jupyter sees: nothing here says it was forked for grading
    launcher = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [launcher.origin if launcher else "ipykernel_launcher", "-f", connection_file]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", connection_file])
    app.start()


def serve() -> None:
    """The server's main loop (``python -m vae_course.tools.kernel_server``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_DUMPABLE, 0)  # no kernel may attach a debugger to it and change it
    import importlib

    def warm(name: str) -> None:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (a kernel that needs it imports it and says why)
            pass

    for name in CORE + (WARM if "--warm" in sys.argv[1:] else ()):
        warm(name)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    server = _Server()

    def answer(reply: dict) -> None:
        answers.write(json.dumps(reply).encode() + b"\n")
        answers.flush()

    answer({"ready": True})
    for line in iter(requests.readline, b""):
        request = json.loads(line)
        op = request.pop("op")
        try:
            answer(getattr(server, op)(**request))
        except Exception as exc:  # noqa: BLE001  (told to the grader, which raises it)
            answer({"error": f"{type(exc).__name__}: {exc}"})
    server.clean()


# ---- the grader's side ---------------------------------------------------------------

class KernelServer:
    """One warm process that forks fresh kernels; use it as a context manager.

    Args:
        root: an empty folder of its own; each kernel gets a new folder inside it
            (:meth:`workspace`), the only place the sandbox lets it write.
        confine: run the server, and so every kernel, in the sandbox (needs bwrap).
        hide: files and folders the kernels must not read (submissions, solutions).
        env: more environment variables for the kernels (e.g. ``OMP_NUM_THREADS``).
        warm: also import what the notebooks use (:data:`WARM`) before the first kernel;
            False for a server that will start one kernel.

    The process starts at :meth:`start` or the first :meth:`workspace` (a student whose
    notebooks were all graded before costs nothing), and again if something ended it.
    """

    def __init__(self, root: Path, confine: bool, hide: list[Path] | None = None,
                 env: dict[str, str] | None = None, warm: bool = True):
        self.root = Path(root).resolve()
        self.env = dict(env or {})  # more environment for the server and its kernels
        self.warm = warm
        self.confine = confine
        self.hide = sandbox.hideable(hide or []) if confine else []
        if confine and sandbox.bwrap()[0] is None:
            raise RuntimeError(f"no sandbox: {sandbox.bwrap()[1]}")
        # Linux only: on macOS, system libraries (Accelerate, the Objective-C runtime) are
        # not safe to use in a child forked after they were loaded.
        self.forks = sys.platform.startswith("linux")
        self.closed = False
        self._process: subprocess.Popen | None = None
        self._ready = False
        self._lock = threading.Lock()

    def __enter__(self) -> KernelServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def workspace(self) -> sandbox.Workspace:
        """A new, empty folder under the root, with a kernel manager that forks here.

        What earlier kernels wrote under the root is removed first, so a notebook finds
        nothing of the one before it (the server's own scratch folders stay, emptied)."""
        if self.forks:
            self._ensure_started()
        self._tidy()
        folder = Path(tempfile.mkdtemp(dir=self.root))
        if not self.forks:
            return sandbox.Workspace(folder, extra_env=self.env)
        return sandbox.Workspace(folder, _manager_class(self, folder), self.env)

    def start(self) -> KernelServer:
        """Start the server's process now, without waiting for it: it imports while the
        caller does other work (grades the student before), and is ready sooner."""
        if self.forks and not self.closed and self._process is None:
            self._launch()
        return self

    def _tidy(self) -> None:
        for entry in self.root.iterdir() if self.root.is_dir() else []:
            if entry.name in SCRATCH.values() and entry.is_dir() and not entry.is_symlink():
                for inner in entry.iterdir():
                    _remove(inner)
            else:
                _remove(entry)

    def _ensure_started(self) -> None:
        if self.closed:
            raise ServerError("the kernel server was closed")
        if self._process is None or self._process.poll() is not None:
            self._end()
            self._launch()
        if not self._ready:
            if self._read(START_TIMEOUT) != {"ready": True}:
                self._end()
                raise ServerError("the kernel server did not start")
            self._ready = True

    def _launch(self) -> None:
        scratch = {name: self.root / sub for name, sub in SCRATCH.items()}
        for path in scratch.values():
            path.mkdir(exist_ok=True)
        # In the sandbox the server is its PID namespace's first process, which the
        # kernels cannot signal (not even SIGKILL): they cannot end it or its other kernels.
        prefix = ([sandbox.bwrap()[0], *sandbox.confine(self.root, self.hide), "--as-pid-1"]
                  if self.confine else [])
        self._process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "vae_course.tools.kernel_server",
             *(["--warm"] if self.warm else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=self.root, start_new_session=True,
            # The server must never start CUDA (a forked kernel could not use it then): it
            # imports torch and calls nothing, and asks NVML, not CUDA, if anything asks.
            env={**kernel_env(self.env), **{k: str(v) for k, v in scratch.items()},
                 "PYTORCH_NVML_BASED_CUDA_CHECK": "1"})
        self._ready = False

    def _read(self, timeout: float, process: subprocess.Popen | None = None) -> dict | None:
        out = (process or self._process).stdout
        try:
            ready, _, _ = select.select([out], [], [], timeout)
            line = out.readline() if ready else b""
            reply = json.loads(line) if line else None
        except (OSError, ValueError):  # closed meanwhile, or not an answer
            return None
        return reply if isinstance(reply, dict) else None

    def ask(self, **request) -> dict:
        """Send one request and return the answer; raises :class:`ServerError`."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                raise ServerError("the kernel server has ended")
            try:
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
            except (OSError, ValueError) as exc:
                raise ServerError(f"the kernel server has ended ({exc})") from exc
            reply = self._read(ANSWER_TIMEOUT, process)
            if reply is None:  # a late answer must never be taken for the next one's
                self._end()
                raise ServerError("the kernel server stopped answering")
        if "error" in reply:
            raise ServerError(reply["error"])
        return reply

    def close(self) -> None:
        """End the server and every kernel it started; no kernel starts after this."""
        self.closed = True
        self._end()

    def _end(self) -> None:
        process, self._process, self._ready = self._process, None, False
        if process is None:
            return
        try:
            process.stdin.close()  # the server ends its kernels, then itself
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        process.stdout.close()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class ForkedProcess:
    """A forked kernel, seen as jupyter_client sees a ``subprocess.Popen``."""

    stdin = stdout = stderr = None

    def __init__(self, server: KernelServer, pid: int):
        self.server, self.pid = server, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.server.ask(op="poll", pid=self.pid)["exit"]
            except ServerError:
                self.returncode = -signal.SIGKILL  # it died with the server
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            self.server.ask(op="signal", pid=self.pid, signal=int(signum))

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkedProvisioner(LocalProvisioner):
    """Starts the kernel by asking the :class:`KernelServer` for a fork."""

    server: KernelServer

    async def launch_kernel(self, cmd: list[str], **kwargs):
        env = dict(kwargs.get("env") or os.environ)
        env.pop("JPY_PARENT_PID", None)  # the kernel dies with the server instead
        cwd = str(kwargs.get("cwd") or self.parent.connection_file.rsplit("/", 1)[0])
        reply = await asyncio.to_thread(self.server.ask, op="start",
                                        connection_file=self.parent.connection_file,
                                        cwd=cwd, env=env)
        self.process = ForkedProcess(self.server, reply["pid"])
        self.pid, self.pgid, self.cwd = reply["pid"], None, cwd
        return self.connection_info

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        if not restart:
            try:
                await asyncio.to_thread(self.server.ask, op="clean")
            except ServerError:
                pass  # nothing is left: the server ended, and its kernels with it


def _manager_class(server: KernelServer, folder: Path) -> type[AsyncKernelManager]:
    class ForkedKernelManager(AsyncKernelManager):
        """A kernel forked by ``server``, talking over Unix sockets in ``folder``."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"  # no network: the sandbox has none
            self.connection_file = str(folder / "kernel.json")
            self.ip = str(folder / "kernel-ipc")

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
                self.provisioner = ForkedProvisioner(kernel_id=self.kernel_id,
                                                     kernel_spec=self.kernel_spec, parent=self)
                self.provisioner.server = server
            return await super()._async_pre_start_kernel(**kw)

    return ForkedKernelManager


if __name__ == "__main__":
    serve()
