"""``vae-course merge`` (vae_course/tools/merge.py): shards graded apart, one gradebook.

A class of toy-lesson submissions is graded once by one process and once in three
shards with three results folders; the merged gradebook (table, JSON, CSV, feedback)
must equal the one-process run's.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from fixtures.toy_lesson import CHECKS, LESSON, toy_solution

from vae_course.tools.student_notebook import put_back, student_notebook

from .helpers import vae_course

DONE = {"ann": {"double", "countdown"}, "ben": {"double"}, "cat": set(), "dan": {"countdown"},
        "eva": {"double", "countdown"}, "fay": {"double"}}


def make_class(folder):
    solution = toy_solution()
    for student, exercises in DONE.items():
        (folder / student).mkdir(parents=True)
        nb = put_back(student_notebook(solution, LESSON), solution, exercises=exercises)
        nbformat.write(nb, folder / student / f"{LESSON}.ipynb")


def outputs(folder):
    """The gradebook files a run wrote into ``folder``, as comparable values."""
    feedback = {p.relative_to(folder / "feedback").as_posix(): p.read_text()
                for p in sorted((folder / "feedback").rglob("*.md"))}
    return {"json": json.loads((folder / "grades.json").read_text()),
            "csv": (folder / "grades.csv").read_text(), "feedback": feedback}


def report_options(folder):
    return ["--points", folder.parent / "points.toml", "--json", folder / "grades.json",
            "--csv", folder / "grades.csv", "--feedback", folder / "feedback"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("class")
    monkeypatch_module.chdir(root)
    make_class(root / "class")
    (root / "points.toml").write_text("double = 2\ncountdown = 3\n")
    one, merged = root / "one", root / "merged"
    code, table, _ = vae_course("grade", "class", "--extra-checks", CHECKS, "--timeout", 20,
                                "--results", root / "all", *report_options(one))
    assert code == 0
    shards = []
    for k in (1, 2, 3):
        code, _, err = vae_course("grade", "class", "--extra-checks", CHECKS, "--timeout", 20,
                                  "--results", root / f"shard{k}", "--shard", f"{k}/3")
        assert code == 0, err
        shards.append(err)
    code, merged_table, _ = vae_course("merge", *(root / f"shard{k}" for k in (1, 2, 3)),
                                       "--extra-checks", CHECKS, *report_options(merged))
    assert code == 0
    return {"one": outputs(one), "merged": outputs(merged), "table": table,
            "merged_table": merged_table, "shards": shards}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_the_merged_gradebook_equals_the_one_process_run(runs):
    assert runs["merged"] == runs["one"]
    assert runs["merged_table"].split("\nwrote ")[0] == runs["table"].split("\nwrote ")[0]
    assert runs["one"]["json"]["students"]["ann"]["total"] == 5


def test_each_student_is_graded_by_exactly_one_shard(runs):
    graded = [line.split()[1] for err in runs["shards"] for line in err.splitlines()
              if line.startswith("grading ")]
    assert sorted(graded) == sorted(f"class/{s}/{LESSON}.ipynb" for s in DONE)


def test_merge_refuses_what_it_cannot_merge(tmp_path):
    code, _, err = vae_course("merge", tmp_path / "missing")
    assert code == 2 and "no results folder" in err
    code, _, err = vae_course("merge", tmp_path)
    assert code == 2 and "no graded submissions" in err
    (tmp_path / "points.toml").write_text("nope = 1\n")
    code, _, err = vae_course("merge", tmp_path, "--points", tmp_path / "points.toml")
    assert code == 2 and "unknown exercises" in err
