"""`vae-course notebooks` (vae_course.tools.notebooks): copy the student notebooks into a
folder of the student's, keeping what is there."""

from pathlib import Path

from vae_course.tools import cli, notebooks

REPO = Path(__file__).resolve().parents[2]
STUDENT_NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_notebooks_command_copies_into_a_new_folder_and_keeps_what_exists(tmp_path, capsys):
    assert notebooks.notebook_source() == REPO / "notebooks"  # a checkout: its own folder
    target = tmp_path / "a" / "b"
    assert cli.main(["notebooks", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == [p.name for p in STUDENT_NOTEBOOKS]
    assert (target / STUDENT_NOTEBOOKS[0].name).read_bytes() == STUDENT_NOTEBOOKS[0].read_bytes()
    capsys.readouterr()
    mine = target / STUDENT_NOTEBOOKS[0].name
    mine.write_text("my answers")
    assert cli.main(["notebooks", str(target)]) == 0
    out = capsys.readouterr().out
    assert mine.read_text() == "my answers"
    assert f"skipped  {mine.name}" in out and f"0 copied, {len(STUDENT_NOTEBOOKS)} skipped" in out


def test_notebooks_command_refuses_a_file_and_an_empty_installation(tmp_path, capsys, monkeypatch):
    file = tmp_path / "notes.txt"
    file.write_text("x")
    assert cli.main(["notebooks", str(file)]) == 2
    assert "is not a folder" in capsys.readouterr().err and file.read_text() == "x"
    monkeypatch.setattr(notebooks, "notebook_source", lambda: None)
    assert cli.main(["notebooks", str(tmp_path / "new")]) == 2
    assert "carries no student notebooks" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
