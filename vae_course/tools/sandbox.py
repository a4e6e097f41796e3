"""Where a submission's kernel runs: its own folder, and on Linux a bubblewrap sandbox.

Every kernel gets a fresh temporary folder (:class:`Workspace`): its working folder,
home for the caches that Python tools write (IPython, matplotlib, ``TMPDIR``), and its
own model cache, which lists the instructor's cached models as links. A model it trains
is saved there, so the course's own saving never changes the instructor's cache (the
sandbox stops code that writes there on purpose).

Where ``bwrap`` (Debian/Ubuntu package ``bubblewrap``) runs, a student's kernels are
forked by a server (:mod:`.kernel_server`) started as

    bwrap --ro-bind / / --dev /dev --proc /proc --bind DIR DIR --unshare-net
          --unshare-pid --unshare-ipc --cap-drop ALL --die-with-parent  python -m ...

the whole file system read-only except that student's folder DIR, no network (a new,
empty network namespace), no view of other processes, and no capabilities (so even
root cannot remount the file system writable). The grader talks to the kernels through
Unix sockets in DIR (jupyter's ``ipc`` transport), which need no network. Files that
students handed in (their own included: the kernel runs a copy), the course's
``solutions/`` and the other students' folders are hidden from it.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

NOT_CONFINED = ("note: submissions run unconfined: no sandbox is available here ({why}). "
                "Student code can read and write whatever you can. Install bubblewrap "
                "(apt-get install bubblewrap) on Linux to confine it.")
TURNED_OFF = "note: --no-sandbox: submissions run unconfined, with your rights."


@functools.lru_cache(maxsize=1)
def bwrap() -> tuple[str | None, str]:
    """(path of a working ``bwrap``, "") or (None, why there is none); tried once."""
    if not sys.platform.startswith("linux"):
        return None, f"the sandbox needs Linux, this is {sys.platform}"
    path = shutil.which("bwrap")
    if path is None:
        return None, "bwrap is not installed"
    try:
        trial = subprocess.run([path, *confine(Path("/tmp"), []), "true"], capture_output=True,
                               timeout=30, text=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"bwrap does not run: {exc}"
    if trial.returncode != 0:
        return None, f"bwrap does not run here: {trial.stderr.strip() or trial.returncode}"
    return path, ""


def confine(folder: Path, hide: list[Path]) -> list[str]:
    """bwrap's options: read-only everything, ``hide`` masked, ``folder`` writable."""
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path in hide:
        if path.is_dir():
            args += ["--tmpfs", str(path)]
        elif path.exists():
            args += ["--ro-bind", "/dev/null", str(path)]
    args += ["--bind", str(folder), str(folder), "--chdir", str(folder),
             "--unshare-net", "--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL",
             "--die-with-parent",
             # In its own PID namespace the kernel's parent is bwrap's init (pid 1), which
             # ipykernel would take for "my parent has exited"; --die-with-parent does that job.
             "--unsetenv", "JPY_PARENT_PID"]
    return args


def _never_hidden() -> list[Path]:
    """Folders the kernel needs: Python, its packages, this package, the data and cache."""
    from .. import data, train

    return [Path(p).resolve() for p in (sys.prefix, sys.base_prefix, Path(__file__).parents[2],
                                        data.data_root(), train.cache_dir())]


def hideable(paths: list[Path]) -> list[Path]:
    """The ``paths`` that can be hidden without hiding what the kernel needs."""
    keep = _never_hidden()
    out = []
    for path in paths:
        path = path.resolve()
        if path != Path("/") and not any(k == path or path in k.parents for k in keep):
            out.append(path)
    return out


class Workspace:
    """A kernel's temporary folder, and how its kernel is started there.

    Args:
        folder: an empty folder of its own (the kernel's working folder).
        manager_class: the kernel manager that starts the kernel there (one of
            :class:`~vae_course.tools.kernel_server.KernelServer`'s, which forks it,
            in the sandbox where there is one); None: jupyter's usual one.
        extra_env: more environment variables for the kernel.
    """

    def __init__(self, folder: Path, manager_class: type | None = None,
                 extra_env: dict[str, str] | None = None):
        self.folder = folder.resolve()
        self.manager_class = manager_class
        self.extra_env = dict(extra_env or {})

    def env(self) -> dict[str, str]:
        """Environment variables for the kernel: scratch folders and caches inside the folder,
        the data root and model cache the grader itself uses."""
        from .. import data, train

        scratch = {name: self.folder / sub for name, sub in (
            ("TMPDIR", "tmp"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "matplotlib"),
            ("XDG_CACHE_HOME", "cache"), ("VAE_COURSE_CACHE", "models"))}
        for path in scratch.values():
            path.mkdir(exist_ok=True)
        if not link_cache(train.cache_dir(), scratch["VAE_COURSE_CACHE"]):
            scratch["VAE_COURSE_CACHE"] = train.cache_dir()  # no links here (Windows): share it
        env = {name: str(path) for name, path in scratch.items()}
        env[data.ENV_DATA] = str(data.data_root())
        return {**env, **self.extra_env}

    def manager_options(self) -> dict:
        """Keyword arguments for nbclient's NotebookClient that start the kernel here."""
        return {"kernel_manager_class": self.manager_class} if self.manager_class else {}


def link_cache(source: Path, target: Path) -> bool:
    """Fill ``target`` with links to the entries of the model cache ``source``; False when
    this system cannot make links.

    The kernel loads cached models through them; a model it trains or replaces is
    written into ``target`` (the course saves through a new file and a rename, which
    replaces the link, never the file it points to).
    """
    if not source.is_dir():
        return True
    for entry in source.iterdir():
        link = target / entry.name
        if entry.is_file() and entry.suffix == ".pt" and not link.is_symlink():
            try:
                link.symlink_to(entry.resolve())
            except OSError:  # e.g. Windows without the right to make links
                return False
    return True


def notice(confine: bool, asked: bool) -> str | None:
    """What to tell the instructor, once, about how submissions run; None when sandboxed."""
    if confine:
        return None
    return NOT_CONFINED.format(why=bwrap()[1]) if asked else TURNED_OFF
