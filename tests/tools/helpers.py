"""Helpers shared by the tests of the tools."""

from __future__ import annotations

import contextlib
import io

from vae_course.tools import cli, gradebook
from vae_course.tools.gradebook import Row


def rows() -> list[Row]:
    """Three students: alice passes both, bob one (twice handed in), carol's file is broken."""
    out = [Row("s/alice/90_toy.ipynb", "90_toy", "double", "passed", "double works.",
               student="alice"),
           Row("s/alice/90_toy.ipynb", "90_toy", "countdown", "passed", "countdown works.",
               hidden=True, student="alice"),
           Row("s/bob/90_toy.ipynb", "90_toy", "double", "failed", "twice its input, please.",
               student="bob"),
           Row("s/bob/90_toy.ipynb", "90_toy", "countdown", "not attempted", "Not done yet.",
               student="bob"),
           Row("s/bob/90_toy (1).ipynb", "90_toy", "double", "passed", "double works.",
               student="bob"),
           Row("s/bob/90_toy (1).ipynb", "90_toy", "countdown", "timed out", "endless loop?",
               student="bob"),
           Row("s/carol/homework.pdf", "", "-", "error", "not a notebook.", student="carol")]
    gradebook.award(out, {"double": 2.0})
    return out


def vae_course(*argv) -> tuple[int, str, str]:
    """Run the command line in this process: (exit status, what it printed, its errors)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()
