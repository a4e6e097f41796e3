"""The submissions to grade (vae_course.tools.submissions): finding them, reading them, and
naming their lesson."""

import nbformat
import pytest
from fixtures.toy_lesson import LESSON, toy_solution

from vae_course.tools import submissions
from vae_course.tools.student_notebook import student_notebook


def test_every_file_under_a_folder_is_found_but_hidden_ones(tmp_path):
    folder = tmp_path / "submissions"
    for name in ("bob/90_toy.ipynb", "alice-90_toy.ipynb", "bob/.ipynb_checkpoints/90_toy.ipynb",
                 ".DS_Store", "carol/notes.pdf"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    given = tmp_path / "late.ipynb"  # a file given by itself is kept as it is
    assert submissions.submissions([folder, given]) == [
        folder / "alice-90_toy.ipynb", folder / "bob" / "90_toy.ipynb",
        folder / "carol" / "notes.pdf", given]


@pytest.mark.parametrize("content, said", [
    (b"%PDF-1.4 \xff\xfe", "cannot read it as text"),
    (b'{"cells": [', "not valid JSON"),
    (b'{"hello": "world"}', "not a Jupyter notebook"),
])
def test_a_file_that_is_no_notebook_says_why(tmp_path, content, said):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(submissions.SubmissionError, match=said):
        submissions.read_submission(path)
    assert path.read_bytes() == content


def test_a_notebook_is_read(tmp_path):
    path = tmp_path / "x.ipynb"
    nbformat.write(toy_solution(), path)
    assert submissions.read_submission(path) == nbformat.read(path, as_version=4)


@pytest.mark.parametrize("name, lesson", [
    ("03_reparameterization.ipynb", "03_reparameterization"),
    ("03_reparameterization (1).ipynb", "03_reparameterization"),
    ("alice-03_reparameterization.ipynb", "03_reparameterization"),
    ("Bob 04 KL regularization.ipynb", "04_kl_regularization"),
    ("05_sampling_v2.ipynb", "05_sampling_and_interpolation"),
])
def test_lesson_from_the_file_name(tmp_path, name, lesson):
    nb = nbformat.v4.new_notebook()
    assert submissions.lesson_of(nb, tmp_path / name, submissions.known_lessons({})) == lesson


def test_lesson_from_the_stamp_wins_over_the_name(tmp_path):
    lessons = submissions.known_lessons({})
    stamped = student_notebook(toy_solution(), LESSON)
    assert submissions.lesson_of(stamped, tmp_path / "03_reparameterization.ipynb",
                                 lessons + [LESSON]) == LESSON
    with pytest.raises(submissions.SubmissionError, match="no lesson found"):
        submissions.lesson_of(nbformat.v4.new_notebook(), tmp_path / "homework.ipynb", lessons)
