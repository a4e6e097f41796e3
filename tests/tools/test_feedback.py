"""Feedback files for the students, one per student and notebook (vae_course.tools.feedback)."""

import pytest

from vae_course.tools import feedback

from .helpers import rows


def test_feedback_files_per_student_and_notebook(tmp_path):
    folder = tmp_path / "feedback"
    written = feedback.write_feedback(rows(), folder)
    names = sorted(str(p.relative_to(folder)).replace("\\", "/") for p in written)
    assert names == ["alice/90_toy.md", "bob/90_toy-2.md", "bob/90_toy.md", "carol/homework.md"]
    bob = (folder / "bob" / "90_toy.md").read_text()
    assert bob.startswith("# 90_toy: feedback for bob\n")
    assert "Points: **0 of 3**" in bob and "| `double` | failed | 0 / 2 |" in bob
    assert "## `double`: not yet right\n\ntwice its input, please." in bob
    assert "not a notebook." in (folder / "carol" / "homework.md").read_text()
    assert "(hidden check)" in (folder / "alice" / "90_toy.md").read_text()


def test_feedback_never_replaces_a_file_unless_told(tmp_path):
    folder = tmp_path / "feedback"
    (folder / "alice").mkdir(parents=True)
    mine = folder / "alice" / "90_toy.md"
    mine.write_text("my own notes")
    with pytest.raises(ValueError, match="already holds files"):
        feedback.check_folder(folder, overwrite=False)
    with pytest.raises(FileExistsError, match="not replaced"):
        feedback.write_feedback(rows(), folder)
    assert mine.read_text() == "my own notes"
    feedback.check_folder(folder, overwrite=True)
    feedback.write_feedback(rows(), folder, overwrite=True)
    assert mine.read_text().startswith("# 90_toy")
    feedback.check_folder(tmp_path / "new", overwrite=False)  # a new folder is fine
    with pytest.raises(ValueError, match="is a file"):
        feedback.check_folder(mine, overwrite=True)


def test_an_override_and_its_reason_reach_the_feedback(tmp_path):
    graded = rows()
    graded[2].points, graded[2].override = 1.0, "the idea is right"
    written = feedback.write_feedback(graded, tmp_path / "fb")
    bob = next(p for p in written if p.parent.name == "bob" and p.name == "90_toy.md").read_text()
    assert "set the points of this exercise to 1: the idea is right" in bob
    assert "Points: **1 of 3**" in bob
