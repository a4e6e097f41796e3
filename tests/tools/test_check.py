"""``vae-course check`` (vae_course/tools/check.py): the grader's verdict, for the student."""

from __future__ import annotations

import hashlib
import json

import nbformat
from fixtures.toy_lesson import CHECKS

from .helpers import vae_course
from .test_grade import with_cell


def test_check_says_what_the_grader_says_and_changes_nothing(tmp_path):
    mine = tmp_path / "me-90_toy.ipynb"
    # right in a notebook run by hand, wrong when run top to bottom: a later cell
    # redefines double
    nbformat.write(with_cell("def double(x):\n    return x + 1", at=9), mine)
    before = hashlib.sha256(mine.read_bytes()).hexdigest()
    code, printed, _ = vae_course("check", mine, "--extra-checks", CHECKS, "--timeout", 20)
    assert code == 0
    assert hashlib.sha256(mine.read_bytes()).hexdigest() == before
    assert list(tmp_path.iterdir()) == [mine]
    code, _, _ = vae_course("grade", mine, "--extra-checks", CHECKS, "--timeout", 20, "--results",
                     tmp_path.parent / f"{tmp_path.name}-results", "--json",
                     tmp_path.parent / f"{tmp_path.name}.json")
    graded = json.loads((tmp_path.parent / f"{tmp_path.name}.json").read_text())["results"]
    assert "1 of 2 exercises pass" in printed
    for row in graded:
        assert f"{row['exercise']}: {row['status']}. {row['message']}" in printed
    assert {r["exercise"]: r["status"] for r in graded} == {"double": "failed",
                                                            "countdown": "passed"}


def test_check_needs_a_notebook_that_exists(tmp_path):
    code, _, err = vae_course("check", tmp_path / "nope.ipynb")
    assert code == 2 and "give the path of your .ipynb file" in err


def test_a_file_that_is_not_a_notebook_is_said_plainly(tmp_path):
    bad = tmp_path / "01_autoencoder.ipynb"
    bad.write_text("{ not json")
    code, printed, _ = vae_course("check", bad)
    assert code == 0 and "the notebook: error." in printed and "Traceback" not in printed
