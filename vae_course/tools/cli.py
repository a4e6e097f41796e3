"""The one command-line entry point, ``vae-course`` (also ``python -m vae_course``).

Each subcommand lives in its own module, which provides ``add_arguments(parser)``
and ``run(args) -> int``; this file only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

FIRST_NOTEBOOK = "notebooks/01_autoencoder.ipynb"

# subcommand -> (module, one-line help)
COMMANDS = {
    "lab": ("vae_course.tools.cli", "open the course in JupyterLab on the first notebook"),
    "data": ("vae_course.tools.cli", "fetch MNIST / Fashion-MNIST if missing, and verify the files"),
    "build": ("vae_course.tools.build", "generate the student notebooks from solutions/"),
    "grade": ("vae_course.tools.grade", "grade submitted notebooks and print a table"),
    "doctor": ("vae_course.tools.doctor", "print a report on this installation, with fixes"),
    "notebooks": ("vae_course.tools.notebooks", "copy the student notebooks into a folder of yours"),
}


def course_dir(start: Path | None = None) -> Path:
    """The course folder (the one holding notebooks/ and solutions/): the current
    folder or one above it, else the folder above this package."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


# ---- lab ---------------------------------------------------------------------------

def _add_lab(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebook", nargs="?", default=FIRST_NOTEBOOK,
                   help=f"notebook to open, relative to the course folder (default {FIRST_NOTEBOOK})")
    p.add_argument("--no-data", action="store_true", help="do not fetch the data before opening")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    p.epilog = "Other options (e.g. --port 8890 --no-browser) are passed on to JupyterLab."


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _run_lab(args) -> int:
    from .. import data

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


# ---- data --------------------------------------------------------------------------

def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist", "all"], default="all")
    p.add_argument("--root", help="data folder (default: $VAE_COURSE_DATA or a per-user folder)")
    p.add_argument("--no-download", action="store_true", help="only verify what is on disk")


def _run_data(args) -> int:
    from .. import data

    names = list(data.DATASETS) if args.dataset == "all" else [args.dataset]
    status = 0
    for name in names:
        try:
            root = data.ensure(name, args.root, download=not args.no_download)
            print(f"ok: {name} in {root / data.DATASETS[name].folder / 'raw'} (checksums verified)")
        except data.DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    return status


LOCAL = {"lab": (_add_lab, _run_lab), "data": (_add_data, _run_data)}


def parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the ``chosen`` command's module is imported (it may be slow)."""
    p = argparse.ArgumentParser(prog="vae-course", description="Tools of the VAE course.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name != chosen:
            continue
        if name in LOCAL:
            LOCAL[name][0](sp)
        else:
            importlib.import_module(module).add_arguments(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser(next((a for a in argv if a in COMMANDS), None))
    args, extra = p.parse_known_args(argv)
    if extra and args.command != "lab":
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_args = extra  # `vae-course lab --port 8890` passes options on to JupyterLab
    if args.command is None:
        p.print_help()
        return 2
    if args.command in LOCAL:
        return LOCAL[args.command][1](args)
    return importlib.import_module(COMMANDS[args.command][0]).run(args)
