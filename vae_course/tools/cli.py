"""The one command-line entry point, ``vae-course`` (also ``python -m vae_course``).

Each subcommand lives in its own module, which provides ``add_arguments(parser)``
and ``run(args) -> int``; this file only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# subcommand -> (module, one-line help)
COMMANDS = {
    "lab": ("vae_course.tools.lab", "open the course in JupyterLab on the first notebook"),
    "data": ("vae_course.tools.datasets", "fetch MNIST / Fashion-MNIST if missing, and verify the files"),
    "build": ("vae_course.tools.build", "generate the student notebooks from solutions/"),
    "check": ("vae_course.tools.check", "run your notebook as the grader will, before you hand it in"),
    "grade": ("vae_course.tools.grade", "grade submitted notebooks and print a table"),
    "gradescope": ("vae_course.tools.gradescope", "write an autograder zip for Gradescope that runs `grade`"),
    "merge": ("vae_course.tools.merge", "join the results of several graders into one gradebook"),
    "slurm": ("vae_course.tools.slurm", "write job scripts that grade a class on a SLURM cluster"),
    "doctor": ("vae_course.tools.doctor", "print a report on this installation, with fixes"),
    "notebooks": ("vae_course.tools.notebooks", "copy the student notebooks into a folder of yours"),
    "site": ("vae_course.tools.site", "build the course website (student and instructor editions)"),
}


def parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the ``chosen`` command's module is imported (it may be slow)."""
    p = argparse.ArgumentParser(prog="vae-course", description="Tools of the VAE course.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name != chosen:
            continue
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
    return importlib.import_module(COMMANDS[args.command][0]).run(args)
