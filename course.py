#!/usr/bin/env python3
"""Set up what is missing, then open the course or run its tests.

    python3 course.py lab     # open JupyterLab on the first notebook
    python3 course.py test    # run the whole test suite (extra arguments go to pytest)
    python3 course.py bench   # run the training-speed benchmark (extra arguments go to it)

The first run makes a virtual environment in .venv and installs the course into it
(a few minutes); later runs start at once. Delete .venv to start again from scratch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("VAE_COURSE_VENV", HERE / ".venv"))
EXTRAS = {"lab": "", "test": "[test]", "bench": ""}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def say(msg: str) -> None:
    print(f"[course] {msg}", flush=True)


def run(cmd: list, **kw) -> None:
    result = subprocess.run([str(c) for c in cmd], **kw)
    if result.returncode != 0:
        say(f"failed: {' '.join(map(str, cmd))}")
        sys.exit(result.returncode)


def setup(extra: str) -> Path:
    """Create .venv if needed and (re)install the course when pyproject.toml changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}. "
                 f"Run this script with a newer python3.")
    py = venv_python()
    if not py.exists():
        say(f"creating a virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((HERE / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    stamp = VENV / ".vae-course-installed"
    done = stamp.read_text().split() if stamp.exists() else []
    if wanted not in done:
        say("installing the course and its dependencies (the first time takes a few minutes)")
        run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([py, "-m", "pip", "install", "--quiet", "-e", f"{HERE}{extra}"])
        stamp.write_text("\n".join([*done, wanted]))
    return py


def ensure_chromium() -> None:
    """The browser test uses the system's Chromium; install it on Debian/Ubuntu when we may."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    can_apt = shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if can_apt and os.environ.get("VAE_COURSE_NO_APT") != "1":
        say("installing Chromium for the browser test (apt-get install chromium)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env)
    if not shutil.which("chromium"):
        say("Chromium not found: the browser test will be skipped. Install it with your "
            "package manager (e.g. `sudo apt-get install chromium`) to run it.")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__.strip())
        return 2
    command, rest = argv[0], argv[1:]
    py = setup(EXTRAS[command])
    if command == "lab":
        return subprocess.call([str(py), "-m", "vae_course", "lab", *rest], cwd=HERE)
    if command == "bench":
        return subprocess.call([str(py), str(HERE / "benchmarks" / "train_speed.py"), *rest], cwd=HERE)
    ensure_chromium()
    return subprocess.call([str(py), "-m", "pytest", *rest], cwd=HERE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
