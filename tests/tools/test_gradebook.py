"""The gradebook: student ids from paths, points, the CSV and JSON files (no kernel)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from vae_course.tools import gradebook

from .helpers import rows

LESSONS = ["01_autoencoder", "04_kl_regularization", "90_toy"]


@pytest.mark.parametrize("relative, student", [
    ("alice/01_autoencoder.ipynb", "alice"),  # submissions/<student>/<notebook>.ipynb
    ("Bob Smith/week 1/whatever.ipynb", "Bob Smith"),  # the first folder below counts
    ("alice_01_autoencoder.ipynb", "alice"),  # else the file name without the lesson
    ("01_autoencoder-alice.ipynb", "alice"),
    ("Carol 04 KL regularization.ipynb", "Carol"),
    ("mary-jane_01_autoencoder (1).ipynb", "mary-jane"),  # a second download
    ("dave_01_autoencoder_v2.ipynb", "dave_v2"),
    ("kim.ipynb", "kim"),  # no lesson in the name: the whole name
    ("01_autoencoder.ipynb", "01_autoencoder"),
])
def test_student_from_the_path(relative, student):
    root = Path("/course/submissions")
    assert gradebook.student_of(root / relative, root, LESSONS) == student


def test_a_file_given_by_itself_is_named_by_its_file_name_or_else_its_folder():
    path = Path("/course/submissions/bob/90_toy.ipynb")
    assert gradebook.student_of(path, None, LESSONS) == "bob"
    assert gradebook.student_of(path.with_name("bob-90_toy.ipynb"), None, LESSONS) == "bob"


def test_points_from_toml_and_json(tmp_path):
    toml = tmp_path / "points.toml"
    toml.write_text("# points per exercise\ndouble = 2\ncountdown = 0.5\n")
    assert gradebook.load_points(toml, {"double", "countdown"}) == {"double": 2.0,
                                                                    "countdown": 0.5}
    js = tmp_path / "points.json"
    js.write_text('{"double": 3}')
    assert gradebook.load_points(js, {"double", "countdown"}) == {"double": 3.0}


@pytest.mark.parametrize("text, message", [
    ("dubble = 2\n", "unknown exercises ['dubble']"),
    ("double = 'two'\n", "must be numbers"),
    ("double = -1\n", "must be numbers"),
    ("double = \n", "could not be read"),
])
def test_bad_points_files_say_what_to_fix(tmp_path, text, message):
    path = tmp_path / "points.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        gradebook.load_points(path, {"double", "countdown"})


def test_points_are_earned_only_by_passing():
    got = [(r.points, r.max_points) for r in rows()]
    assert got == [(2, 2), (1, 1), (0, 2), (0, 1), (2, 2), (0, 1), (0, 0)]


def test_csv_has_one_row_per_student_with_a_column_per_exercise(tmp_path):
    path = tmp_path / "grades.csv"
    gradebook.write_csv(rows(), path)
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    assert table == [["student", "double", "countdown", "total"],
                     ["alice", "2", "1", "3"],
                     ["bob", "2", "0", "2"],  # the better of his two notebooks
                     ["carol", "0", "0", "0"]]


def test_json_keeps_every_detail(tmp_path):
    path = tmp_path / "grades.json"
    gradebook.write_json(rows(), path, sandboxed=True)
    data = json.loads(path.read_text())
    assert len(data["results"]) == 7 and data["sandboxed"] is True
    assert data["results"][2] == {"notebook": "s/bob/90_toy.ipynb", "lesson": "90_toy",
                                  "exercise": "double", "status": "failed",
                                  "message": "twice its input, please.", "hidden": False,
                                  "student": "bob", "points": 0.0, "max_points": 2.0,
                                  "override": ""}
    assert data["students"]["bob"]["total"] == 2 and data["students"]["bob"]["max"] == 3
    assert data["students"]["bob"]["notebooks"] == ["s/bob/90_toy (1).ipynb"]
    assert any("bob handed in more than one notebook" in n for n in data["notes"])
    assert data["totals"]["passed"] == 3


def test_table_shows_students_and_points():
    text = gradebook.table(rows())
    header = text.split("\n")[0].split()
    assert header == ["student", "notebook", "exercise", "result", "points", "message"]
    assert "alice: 3/3 points" in text and "bob: 2/3 points" in text
    assert "s/bob/90_toy.ipynb: 0/2 passed" in text
    assert "totals: 4 notebooks, 3 students, 3 passed, 1 failed" in text


# ---- overrides ------------------------------------------------------------------------

OVERRIDES = ("student,lesson,exercise,points,reason\n"
             "bob,90,countdown,0.5,\"partial credit: right idea, off by one\"\n"
             "alice,90_toy,double,0,copied from a classmate\n"
             "zed,90_toy,double,1,no such student\n")


def test_overrides_set_points_keep_the_reason_and_name_what_matched_nothing(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text(OVERRIDES)
    graded = rows()
    notes = gradebook.apply_overrides(graded, gradebook.load_overrides(path, {"double", "countdown"}))
    assert notes == ["note: the override for zed, 90_toy, double matches no graded exercise; "
                     "check the names."]
    changed = {(r.notebook, r.exercise): (r.points, r.override) for r in graded if r.override}
    assert changed == {
        ("s/alice/90_toy.ipynb", "double"): (0.0, "copied from a classmate"),
        ("s/bob/90_toy.ipynb", "countdown"): (0.5, "partial credit: right idea, off by one"),
        ("s/bob/90_toy (1).ipynb", "countdown"): (0.5, "partial credit: right idea, off by one")}
    students, _ = gradebook.per_student(graded)
    assert students["alice"]["total"] == 1 and students["bob"]["total"] == 2.5
    assert "[override: copied from a classmate]" in gradebook.table(graded)


@pytest.mark.parametrize("text, message", [
    ("student,exercise,points\nbob,double,1\n", "missing: lesson, reason"),
    ("student,lesson,exercise,points,reason\nbob,90,triple,1,x\n", "unknown exercise 'triple'"),
    ("student,lesson,exercise,points,reason\nbob,90,double,lots,x\n", "line 2: points must be"),
    ("student,lesson,exercise,points,reason\nbob,90,double,-1,x\n", "points must be"),
    ("student,lesson,exercise,points,reason\nbob,90,double,1, \n", "give a reason"),
])
def test_bad_overrides_say_what_to_fix(tmp_path, text, message):
    path = tmp_path / "overrides.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        gradebook.load_overrides(path, {"double", "countdown"})
