"""``vae-course lab``: open the course in JupyterLab, on the first notebook by default.

Other options (``--port 8890``, ``--no-browser``) are passed on to JupyterLab. As root
(containers, cloud machines) it adds ``--allow-root``, which JupyterLab needs there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from .. import data
from .notebooks import course_dir

FIRST_NOTEBOOK = "notebooks/01_autoencoder.ipynb"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook", nargs="?", default=FIRST_NOTEBOOK,
                   help=f"notebook to open, relative to the course folder (default {FIRST_NOTEBOOK})")
    p.add_argument("--no-data", action="store_true", help="do not fetch the data before opening")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    p.epilog = "Other options (e.g. --port 8890 --no-browser) are passed on to JupyterLab."


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def run(args) -> int:
    root = course_dir()
    if not args.notebook.endswith(".ipynb"):  # the value of a JupyterLab option, e.g. --port 8890
        args.jupyter_args.append(args.notebook)
        args.notebook = FIRST_NOTEBOOK
    target = root / args.notebook
    if not target.exists():
        hint = ("Run `vae-course build` to generate the student notebooks, or name an existing "
                "notebook." if (root / "solutions").is_dir() else
                "This is an installed course without a checkout: copy the notebooks with "
                "`vae-course notebooks DIR` and open them with `jupyter lab DIR`.")
        print(f"error: {target} does not exist. {hint}", file=sys.stderr)
        return 2
    if not args.no_data and not args.dry_run:
        try:
            data.ensure("mnist")
        except data.DataError as exc:  # the course still opens; the notebooks will say it again
            print(f"warning: {exc}", file=sys.stderr)
    as_root = []
    if _is_root() and not any("allow-root" in a or "allow_root" in a for a in args.jupyter_args):
        # Containers and cloud machines often log in as root, where JupyterLab refuses to start.
        print("note: running as root, so JupyterLab is started with --allow-root", file=sys.stderr)
        as_root = ["--allow-root"]
    cmd = [sys.executable, "-m", "jupyter", "lab", *as_root, f"--ServerApp.root_dir={root}",
           *args.jupyter_args, args.notebook]
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    return subprocess.call(cmd, cwd=root)
