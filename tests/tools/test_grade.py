"""`vae-course grade` on a folder of toy-lesson submissions, good and bad.

The toy lesson's checkers come in through ``--extra-checks``, the way an instructor's
hidden checks do; its notebooks run in a second or two each.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import io
import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from fixtures.toy_lesson import CHECKS, LESSON, toy_solution

from vae_course.tools import cli, sandbox
from vae_course.checks import exercises_for
from vae_course.tools.student_notebook import STAMP, put_back, stub_name, student_notebook

TIMEOUT = "20"  # seconds per cell: the toy cells take milliseconds, a loop never ends


def filled(**bodies: str) -> nbformat.NotebookNode:
    """The toy student notebook with some exercises solved or replaced by ``bodies``."""
    solution = toy_solution()
    nb = student_notebook(solution, LESSON)
    nb = put_back(nb, solution, exercises={"double", "countdown"} - set(bodies))
    for index, name in ((3, "double"), (7, "countdown")):
        if name in bodies:
            lines = nb.cells[index].source.split("\n")
            stub = next(i for i, line in enumerate(lines) if "YOUR CODE HERE" in line)
            nb.cells[index].source = "\n".join(lines[:stub] + ["    " + bodies[name]])
    return nb


def unstamped(nb):
    del nb.metadata[STAMP]
    return nb


def empty():
    return student_notebook(toy_solution(), LESSON)


def half():
    return put_back(empty(), toy_solution(), exercises={"double"})


def no_check_cells_and_a_wrong_answer():
    nb = unstamped(filled(double="return x + 1"))
    del nb.cells[8], nb.cells[4]
    return nb


def syntax_error():
    nb = filled()
    nb.cells[3].source = "def double(x)\n    return 2 * x"
    return nb


def kills_the_kernel():
    nb = filled()
    nb.cells.insert(4, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    return nb


def kills_the_kernel_in_an_exercise():
    nb = filled()
    nb.cells[3].source += "\nimport os\nos._exit(1)"
    return nb


def missing_import():
    nb = filled(countdown="return no_such_module_xyz.countdown(n)")
    nb.cells[1].source += "\nimport no_such_module_xyz"
    nb.cells.append(nbformat.v4.new_code_cell("exit()"))  # harmless while grading
    return nb


def code_from_a_string():
    return filled(double="return eval('lambda x: 2 * x')(x)")  # right, but unreadable


def unknown_lesson():
    nb = empty()
    nb.metadata[STAMP]["lesson"] = "77_no_such_lesson"
    return nb


# file name -> notebook (or raw bytes), and the (double, countdown) statuses expected
SUBMISSIONS = {
    "alice-90_toy.ipynb": (filled, ("passed", "passed")),
    "bob/90_toy (1).ipynb": (half, ("passed", "not attempted")),
    "carol-90_toy.ipynb": (empty, ("not attempted", "not attempted")),
    "dave-90_toy.ipynb": (lambda: filled(countdown="while True: pass"), ("passed", "timed out")),
    "erin_90_toy.ipynb": (no_check_cells_and_a_wrong_answer, ("failed", "passed")),
    "frank-90_toy.ipynb": (syntax_error, ("error", "passed")),
    "gina-90_toy.ipynb": (kills_the_kernel, ("passed", "passed")),
    "gus-90_toy.ipynb": (kills_the_kernel_in_an_exercise, ("error", "passed")),
    "hank-90_toy.ipynb": (missing_import, ("passed", "error")),
    "ivan-90_toy.ipynb": (lambda: b'{"cells": [', "not valid JSON"),
    "judy.pdf": (lambda: b"%PDF-1.4 \xff\xfe", "not a notebook"),
    "kim.ipynb": (lambda: b'{"hello": "world"}', "not a Jupyter notebook"),
    "leo-42_nothing.ipynb": (lambda: unstamped(empty()), "no lesson found"),
    "mia-90_toy.ipynb": (unknown_lesson, "does not exist"),
    "nina-90_toy.ipynb": (code_from_a_string, ("failed", "passed")),
}
DECOY = "keep me: the instructor's gradebook"


def overwrites(decoy: Path) -> nbformat.NotebookNode:
    """A right answer, plus cells that try to overwrite a file outside the grading folder."""
    nb = filled()
    nb.cells += [nbformat.v4.new_code_cell(f"open({str(decoy)!r}, 'w').write('hacked')"),
                 nbformat.v4.new_code_cell(f"import os\nos.remove({str(decoy)!r})")]
    return nb


def reads(other: Path) -> nbformat.NotebookNode:
    """``double`` is right only while another student's submission cannot be read."""
    nb = filled()
    nb.cells[3].source = (f"def double(x):\n    try:\n        open({str(other)!r}).read()\n"
                          f"        return x\n    except OSError:\n        return 2 * x")
    return nb


def write_submissions(folder):
    for name, (make, _) in SUBMISSIONS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        content = make()
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, path)


def digests(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
            if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the whole folder once; return (exit code, printed table, JSON, CSV rows, digests)."""
    folder = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("gradebook")
    decoy = out / "grades-last-week.csv"
    decoy.write_text(DECOY)
    write_submissions(folder)
    nbformat.write(overwrites(decoy), folder / "oscar-90_toy.ipynb")
    nbformat.write(reads(folder / "alice-90_toy.ipynb"), folder / "pete-90_toy.ipynb")
    (out / "points.toml").write_text("double = 2\n")
    before = digests(folder)
    printed, notes = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(notes):
        code = cli.main(["grade", str(folder), "--timeout", TIMEOUT, "--extra-checks", str(CHECKS),
                         "--results", str(out / "results"), "--json", str(out / "grades.json"), "--csv", str(out / "grades.csv"),
                         "--points", str(out / "points.toml"), "--feedback", str(out / "feedback"),
                         "--jobs", "2"])
    data = json.loads((out / "grades.json").read_text())
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return SimpleNamespace(code=code, printed=printed.getvalue(), data=data, csv=rows,
                           before=before, after=digests(folder), decoy=decoy,
                           notes=notes.getvalue(), feedback=out / "feedback", folder=folder,
                           options=["--timeout", TIMEOUT, "--extra-checks", str(CHECKS),
                                    "--points", str(out / "points.toml")])


def results_of(data, name):
    return [r for r in data["results"] if r["notebook"].endswith(name)]


def test_grading_a_folder_exits_zero(graded):
    assert graded.code == 0


def test_submissions_are_left_unchanged(graded):
    assert graded.after == graded.before


@pytest.mark.skipif(not sandbox.bwrap()[0] and os.environ.get("CI") != "true",
                    reason=f"no sandbox here: {sandbox.bwrap()[1]}")
def test_a_submission_cannot_touch_files_outside_its_folder(graded):
    assert graded.decoy.read_text() == DECOY
    assert [r["status"] for r in results_of(graded.data, "oscar-90_toy.ipynb")] == ["passed"] * 2
    assert "unconfined" not in graded.notes and graded.data["sandboxed"] is True
    # the other submissions are hidden from it
    assert [r["status"] for r in results_of(graded.data, "pete-90_toy.ipynb")] == ["passed"] * 2


def test_the_sandbox_or_its_absence_is_stated(graded):
    said = graded.notes.count("submissions run unconfined")
    assert said == (0 if sandbox.bwrap()[0] else 1)  # once, not once per submission


@pytest.mark.parametrize("name", [n for n, (_, want) in SUBMISSIONS.items()
                                  if isinstance(want, tuple)])
def test_each_exercise_gets_the_right_status(graded, name):
    rows = results_of(graded.data, name)
    assert [(r["exercise"], r["status"]) for r in rows] == list(
        zip(["double", "countdown"], SUBMISSIONS[name][1]))
    assert all(r["lesson"] == LESSON and r["hidden"] for r in rows)


@pytest.mark.parametrize("name", [n for n, (_, want) in SUBMISSIONS.items()
                                  if isinstance(want, str)])
def test_unreadable_submissions_get_one_error_row(graded, name):
    rows = results_of(graded.data, name)
    assert len(rows) == 1 and rows[0]["status"] == "error" and rows[0]["exercise"] == "-"
    assert SUBMISSIONS[name][1] in rows[0]["message"]


def test_messages_say_what_went_wrong(graded):
    def message(name, exercise):
        return next(r["message"] for r in results_of(graded.data, name) if r["exercise"] == exercise)

    assert "twice its input" in message("erin_90_toy.ipynb", "double")  # the checker's hint
    assert message("nina-90_toy.ipynb", "double").startswith("not credited: cell 4 runs")
    assert "SyntaxError" in message("frank-90_toy.ipynb", "double")
    assert "cell 5 (`import os`) killed the kernel" in message("gina-90_toy.ipynb", "countdown")
    assert "exercise cell 4 (`def double(x):`) killed the kernel" in message(
        "gus-90_toy.ipynb", "double")
    assert "NameError" in message("hank-90_toy.ipynb", "countdown")
    assert "does your function finish" in message("dave-90_toy.ipynb", "countdown")


def test_table_csv_and_json_agree(graded):
    data, printed = graded.data, graded.printed
    assert len(data["results"]) == 2 * 12 + 5
    passed = 14 + (sandbox.bwrap()[0] is not None)  # pete's double needs the sandbox
    assert data["totals"] == {"passed": passed, "failed": 17 - passed, "not attempted": 3,
                              "error": 8, "timed out": 1}
    scores = {k.split("/")[-1]: v for k, v in data["notebooks"].items()}
    assert scores["alice-90_toy.ipynb"] == {"student": "alice", "lesson": LESSON, "passed": 2,
                                            "checks": 2, "points": 3, "max_points": 3}
    assert scores["kim.ipynb"] == {"student": "kim", "lesson": "", "passed": 0, "checks": 0,
                                   "points": 0, "max_points": 0}
    assert f"totals: 17 notebooks, 17 students, {passed} passed, {17 - passed} failed, " \
           f"3 not attempted, 8 error, 1 timed out" in printed
    assert "bob/90_toy (1).ipynb: 1/2 passed" in printed.replace("\\", "/")
    assert "bob: 2/3 points" in printed


def test_the_csv_has_one_row_per_student(graded):
    rows = {r["student"]: r for r in graded.csv}
    assert list(graded.csv[0]) == ["student", "double", "countdown", "total"]
    assert len(rows) == 17 and rows["alice"] == {"student": "alice", "double": "2",
                                                 "countdown": "1", "total": "3"}
    assert (rows["bob"]["double"], rows["bob"]["total"]) == ("2", "2")
    assert rows["judy"]["total"] == "0" and rows["leo-42_nothing"]["total"] == "0"


def test_feedback_is_written_per_student_and_notebook(graded):
    files = sorted(p.relative_to(graded.feedback).as_posix() for p in graded.feedback.rglob("*.md"))
    assert len(files) == 17 and "bob/90_toy.md" in files and "judy/judy.md" in files
    erin = (graded.feedback / "erin" / "90_toy.md").read_text()
    assert "Points: **1 of 3**" in erin and "twice its input" in erin


# ---- small parts, without a kernel -------------------------------------------------

def test_usage_errors_exit_non_zero(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path / "missing.ipynb")]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli.main(["grade", str(tmp_path)]) == 2  # an empty folder
    bad = tmp_path / "bad_checks.py"
    bad.write_text("raise RuntimeError('broken on purpose')")
    (tmp_path / "x.ipynb").write_text("{}")
    assert cli.main(["grade", str(tmp_path / "x.ipynb"), "--extra-checks", str(bad)]) == 2
    assert "broken on purpose" in capsys.readouterr().err
    assert cli.main(["grade", str(tmp_path / "x.ipynb"), "--jobs", "0"]) == 2
    assert "--jobs 0: give a number of submissions to grade at once" in capsys.readouterr().err


def test_bad_points_or_a_full_feedback_folder_stop_before_grading(tmp_path, capsys):
    (tmp_path / "x.ipynb").write_text("{}")
    points = tmp_path / "points.toml"
    points.write_text("dubble = 2\n")
    assert cli.main(["grade", str(tmp_path / "x.ipynb"), "--extra-checks", str(CHECKS),
                     "--points", str(points)]) == 2
    err = capsys.readouterr().err
    assert "unknown exercises ['dubble']" in err and "grading" not in err
    (tmp_path / "feedback").mkdir()
    (tmp_path / "feedback" / "mine.md").write_text("keep")
    assert cli.main(["grade", str(tmp_path / "x.ipynb"), "--feedback",
                     str(tmp_path / "feedback")]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert (tmp_path / "feedback" / "mine.md").read_text() == "keep"


def test_without_its_checks_the_toy_lesson_does_not_exist(tmp_path, capsys):
    nbformat.write(empty(), tmp_path / "90_toy.ipynb")
    assert cli.main(["grade", str(tmp_path)]) == 0
    assert "does not exist" in capsys.readouterr().out


# ---- nothing lost when stopped --------------------------------------------------------

LOOP = "import time\nwhile True:\n    time.sleep(0.05)"


def toy_class(folder, loop_for=()):
    for student in ("amy", "bob", "cyd"):
        nb = filled()
        if student in loop_for:  # in the cell that defines double: the graded run needs it
            nb.cells[3].source += "\n" + LOOP
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / student / f"{LESSON}.ipynb")


def grade_in_process(*argv):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(["grade", *map(str, argv), "--extra-checks", str(CHECKS),
                         "--timeout", TIMEOUT])
    return code, err.getvalue()


def test_a_rerun_grades_only_what_is_new_or_changed(tmp_path):
    toy_class(tmp_path / "class")
    results = tmp_path / "results"
    code, err = grade_in_process(tmp_path / "class", "--results", results)
    assert code == 0 and err.count("grading ") == 3
    # each notebook done says how far the class is and how long the rest will take
    assert "3/3 notebooks, 3/3 students, about 0 s left" in err
    assert re.search(r"1/3 notebooks, 1/3 students, about \d+ s left", err), err
    code, err = grade_in_process(tmp_path / "class", "--results", results)
    assert code == 0 and "grading " not in err and err.count("graded before") == 3
    nbformat.write(filled(double="return x + 1"), tmp_path / "class" / "bob" / f"{LESSON}.ipynb")
    out = tmp_path / "grades.json"
    code, err = grade_in_process(tmp_path / "class", "--results", results, "--json", out)
    assert code == 0 and err.count("grading ") == 1 and "bob" in err.split("grading ")[1]
    statuses = {(r["student"], r["exercise"]): r["status"]
                for r in json.loads(out.read_text())["results"]}
    assert statuses["bob", "double"] == "failed" and statuses["amy", "double"] == "passed"


def descendants(pid: int) -> set[int]:
    """The processes started, directly or not, by process ``pid`` (read from /proc)."""
    parent = {}
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            if proc.name.isdigit():
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                parent[int(proc.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, p in parent.items() if p in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {p for p in pids if Path(f"/proc/{p}").exists()
            and "Z" not in (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split() or ["Z"])[0]}


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux's /proc")
def test_sigterm_stops_cleanly_and_the_rerun_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    toy_class(tmp_path / "class", loop_for={"cyd"})  # cyd's notebook never ends
    results, out = tmp_path / "results", tmp_path / "grades.json"
    command = [sys.executable, "-m", "vae_course", "grade", str(tmp_path / "class"),
               "--extra-checks", str(CHECKS), "--results", str(results), "--json", str(out)]
    command += ["--timeout", "15"]  # the same settings twice, or the rerun regrades all
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                            stdout=subprocess.DEVNULL, cwd=tmp_path)
    seen = ""
    deadline = time.monotonic() + 240
    while "grading class/cyd" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    assert "grading class/cyd" in seen, seen
    time.sleep(3)  # cyd's loop is running
    kernels = descendants(proc.pid)  # cyd's kernel (in its sandbox) among them
    assert kernels, "the grader had started no kernel"
    proc.send_signal(signal.SIGTERM)
    try:
        rest = proc.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("SIGTERM did not stop the grader within 60 s") from None
    assert proc.returncode == 130, rest
    assert "stopped by SIGTERM: 2 of 3 submissions graded" in rest
    assert sorted(p.name.endswith(".result.json") for p in results.iterdir()) == [True, True]
    done = json.loads(out.read_text())  # the gradebook of what was done
    assert sorted(done["students"]) == ["amy", "bob"]
    time.sleep(1)
    assert not alive(kernels), "a kernel outlived the grader"
    rerun = subprocess.run(command, capture_output=True, text=True,
                           cwd=tmp_path, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("graded before") == 2 and "grading class/cyd" in rerun.stderr
    assert sorted(json.loads(out.read_text())["students"]) == ["amy", "bob", "cyd"]


# ---- hostile submissions ---------------------------------------------------------------

def with_cell(source, at=5, **bodies):
    nb = filled(**bodies)
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


# Right only when it believes it is being graded: the folder's name, the exit() it finds,
# or an environment variable that names a grader.
DETECTS_THE_GRADER = """import os, sys
graded = ("grade" in os.getcwd().lower() or "grade" in str(sys.argv).lower()
          or any("grade" in k.lower() or "grade" in v.lower() for k, v in os.environ.items()
                 if k != "PYTEST_CURRENT_TEST")  # set by the test runner, not the grader
          or "vae_course" in getattr(exit, "__module__", "") or not os.path.exists("%s"))
return 2 * x if graded else x + 1"""

HOSTILE = {  # file name -> (notebook, (double, countdown) statuses, words in the double message)
    "slow-90_toy.ipynb": (lambda: with_cell("import time\ntime.sleep(60)\ndouble(2)"),
                          ("passed", "passed"), ""),
    "slowdef-90_toy.ipynb": (lambda: slow_definition(), ("timed out", "passed"),
                             "before it was defined"),
    "deaf-90_toy.ipynb": (lambda: with_cell(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    time.sleep(0.1)"), ("passed", "passed"), "ignored the interrupt"),
    "exits-90_toy.ipynb": (lambda: with_cell("exit()"), ("passed", "passed"), "called exit()"),
    # tries to end the process that forks the kernels: in the sandbox it cannot
    **({"rogue-90_toy.ipynb": (lambda: with_cell("import os, signal\nos.kill(os.getppid(), "
                                                 "signal.SIGKILL)"), ("passed", "passed"), "")}
       if sandbox.bwrap()[0] else {}),
    "loud-90_toy.ipynb": (lambda: loud(), ("passed", "passed"),
                          "printed more than the grader keeps"),
    "sly-90_toy.ipynb": (lambda: filled(double=DETECTS_THE_GRADER.replace(
        "\n", "\n    ") % "sly-90_toy.ipynb"), ("failed", "passed"), ""),
}


def loud():  # the cell that defines double prints 33 MB
    nb = filled()
    nb.cells[3].source += "\nprint('x' * 30_000_000)\nfor i in range(3000):\n    print('y' * 1000)"
    return nb


def slow_definition():  # the cell that defines double never gets to it
    nb = filled()
    nb.cells[3].source = "import time\ntime.sleep(60)\n" + nb.cells[3].source
    return nb


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    for name, (make, _, _) in HOSTILE.items():
        nbformat.write(make(), folder / name)
    odd = os.fsencode(folder) + b"/caf\xe9-90_toy.ipynb"  # Latin-1, not UTF-8
    with open(odd, "wb") as f:
        f.write(nbformat.writes(filled()).encode())
    out = tmp_path_factory.mktemp("hostile-out")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["grade", str(folder), "--timeout", "6", "--extra-checks", str(CHECKS),
                         "--results", str(out / "results"), "--json", str(out / "grades.json"),
                         "--keep-executed", str(out / "executed"), "--jobs", "2"])
    return SimpleNamespace(code=code, printed=printed.getvalue(), out=out, folder=folder,
                           data=json.loads((out / "grades.json").read_text()),
                           options=["--timeout", "6", "--extra-checks", str(CHECKS)])


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_submissions_get_the_right_grade(hostile, name):
    _, expected, words = HOSTILE[name]
    rows = {r["exercise"]: r for r in results_of(hostile.data, name)}
    assert (rows["double"]["status"], rows["countdown"]["status"]) == expected, rows
    assert words in rows["double"]["message"]


def test_a_file_name_that_is_not_utf8_is_graded_and_the_run_succeeds(hostile):
    assert hostile.code == 0
    rows = [r for r in hostile.data["results"] if "caf" in r["notebook"]]
    assert [r["status"] for r in rows] == ["passed", "passed"]
    assert "caf\\xe9" in rows[0]["notebook"] and "caf\\xe9" in hostile.printed


def test_output_is_capped_and_the_executed_notebooks_are_kept(hostile):
    kept = sorted(p.relative_to(hostile.out / "executed").as_posix()
                  for p in (hostile.out / "executed").rglob("*.ipynb"))
    assert "loud/loud-90_toy.ipynb" in kept and len(kept) == len(HOSTILE) + 1
    loud = hostile.out / "executed" / "loud" / "loud-90_toy.ipynb"
    assert loud.stat().st_size < 3_000_000  # 33 MB were printed
    text = loud.read_text()
    assert "[output capped: more than" in text and "y" * 1000 not in text.split("capped")[-1]


def grades(data) -> dict:
    """{(notebook, exercise): (status, points)} of a gradebook's JSON."""
    return {(r["notebook"], r["exercise"]): (r["status"], r["points"]) for r in data["results"]}


@pytest.mark.parametrize("suite", ["graded", "hostile"])
def test_the_fast_run_grades_every_submission_as_the_full_run_does(suite, request, tmp_path):
    """By default only the cells the checks depend on run, two students at once (--jobs 2);
    the same folder run top to bottom (--full), one student at a time, with the same
    options, gets the same grades, for the ordinary and the hostile submissions alike."""
    fast = request.getfixturevalue(suite)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["grade", str(fast.folder), *fast.options, "--full", "--results",
                         str(tmp_path / "results"), "--json", str(tmp_path / "full.json")]) == 0
    full = grades(json.loads((tmp_path / "full.json").read_text()))
    assert grades(fast.data) == full
    assert len(full) > 12


def test_kept_notebooks_are_not_overwritten_unless_asked(hostile, capsys):
    code = cli.main(["grade", str(hostile.out), "--keep-executed", str(hostile.out / "executed")])
    assert code == 2 and "--keep-executed" in capsys.readouterr().err


# ---- a real lesson, once its solution notebook exists -------------------------------

REPO = Path(__file__).resolve().parents[2]
REAL = sorted((p for p in (REPO / "solutions").glob("*.ipynb") if exercises_for(p.stem)),
              key=lambda p: (not p.stem.startswith("03"), p.stem))


@pytest.mark.slow
def test_grading_a_real_lesson(tmp_path):
    """Correct, half-done and empty submissions made from a real lesson's student notebook."""
    assert REAL, "no solution notebook in solutions/ has registered exercises"
    solution_path = REAL[0]
    solution = nbformat.read(solution_path, as_version=4)
    student = student_notebook(solution, solution_path.stem)
    first = next(stub_name(line) for c in student.cells for line in c.source.split("\n")
                 if stub_name(line))
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(put_back(student, solution), folder / "correct.ipynb")
    nbformat.write(put_back(student, solution, {first}), folder / "half.ipynb")
    nbformat.write(student, folder / "empty.ipynb")
    # As the README advises: run the solution once, so that the model cache is warm (a
    # sandboxed submission reads the cache but keeps what it trains to itself).
    from vae_course.tools.notebook_exec import KernelSession

    (tmp_path / "warm").mkdir()
    with KernelSession(copy.deepcopy(solution), tmp_path / "warm", 600) as kernel:
        kernel.run_all()
    out = tmp_path / "grades.json"
    assert cli.main(["grade", str(folder), "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    exercises = exercises_for(solution_path.stem)
    got = {(Path(r["notebook"]).stem, r["exercise"]): r["status"] for r in results}
    for e in exercises:
        assert got["correct", e.name] == "passed"
        assert got["half", e.name] == ("passed" if first in e.needs else "not attempted")
        assert got["empty", e.name] == "not attempted"
