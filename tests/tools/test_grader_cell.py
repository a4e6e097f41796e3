"""Hostile submissions against the record-and-judge split: the student's kernel only records
what the student's functions return; the grader's process judges the record.

The first part plays both sides in this process: the "kernel" side records while a
trick is in force, the trick is undone, and the grader side judges the displayed record
with :func:`grader_cell.verdict`. An instructor's extra checks stay out of the public
registry. The last test runs ``vae-course grade`` on notebook 01
submissions made of the setup cell and one trick cell.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import pickle
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from fixtures.toy_lesson import CHECKS

from vae_course import losses
from vae_course.checks import autoencoder as ae
from vae_course.checks import core, plain, recording
from vae_course.checks.results import Status
from vae_course.checks import latent as lat
from vae_course.tools import cli, grader_cell
from vae_course.tools.student_notebook import STUB_RAISE

REPO = Path(__file__).resolve().parents[2]


def autoencode(encoder, decoder, x):
    z = encoder(x.reshape(len(x), -1))
    return z, decoder(z)


def reconstruction_loss(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1).mean()


def _stub(name):
    namespace = {}
    exec(f"def {name}(*args, **kwargs):\n    {STUB_RAISE.format(name=name)}\n", namespace)
    return namespace[name]


def displayed(name: str, namespace: dict, *bundles) -> dict:
    """The grader's cell for ``name`` after it ran (in this process) on ``namespace``."""
    outputs = []
    record = grader_cell.registry()[name].record_in(namespace)
    outputs.append({"output_type": "display_data", "data": {
        grader_cell.MIME: {"exercise": name, "record": base64.b64encode(record).decode()}}})
    outputs += [{"output_type": "display_data", "data": b} for b in bundles]
    return {"outputs": outputs}


def judged(name: str, cell: dict) -> dict:
    return grader_cell.verdict(grader_cell.registry()[name], cell)


# ---------------------------------------------------------------- honest submissions

def test_honest_submissions_are_judged_as_the_notebook_shows_them():
    for name, fn, status in (("autoencode", autoencode, "passed"),
                             ("reconstruction_loss", _stub("reconstruction_loss"), "not attempted"),
                             ("reconstruction_loss", lambda l, x: reconstruction_loss(l, x) / 784,
                              "failed")):
        got = judged(name, displayed(name, {name: fn}))
        assert got == core.EXERCISES[name].run(fn).as_dict()
        assert got["status"] == status


def test_an_exercise_not_defined_is_not_attempted():
    assert judged("autoencode", displayed("autoencode", {}))["status"] == "not attempted"


def test_extra_checks_stay_out_of_the_public_registry(tmp_path, monkeypatch):
    extra = grader_cell.load_extra_checks(str(CHECKS))
    assert set(extra) == {"double", "countdown"}
    assert "double" not in core.EXERCISES
    assert set(grader_cell.registry(str(CHECKS))) == set(core.EXERCISES) | set(extra)
    monkeypatch.setitem(core.EXERCISES, "double", extra["double"])
    clash = tmp_path / "clash.py"
    clash.write_text(CHECKS.read_text())
    with pytest.raises(ValueError, match="reuses public exercise names"):
        grader_cell.load_extra_checks(str(clash))


# ---------------------------------------------------------------- tricks in the kernel

def test_row_1_a_kernel_side_check_that_says_passed_grades_nothing(monkeypatch):
    def says_passed(exercise, student):  # records no call of the student's code
        return core.Result(exercise.name, Status.PASSED, "all good"), recording.new_record(
            exercise, (), student)

    monkeypatch.setattr(core, "run_and_record", says_passed)
    cells = {n: displayed(n, {n: _stub(n)}) for n in ("autoencode", "reconstruction_loss")}
    monkeypatch.undo()
    for name, cell in cells.items():
        got = judged(name, cell)
        assert got["status"] == "error" and "did not record" in got["message"], got


def test_row_2_replacing_the_notebooks_check_function_grades_nothing(monkeypatch):
    exercise = core.EXERCISES["autoencode"]
    monkeypatch.setattr(exercise, "run", lambda *student: core.Result(
        "autoencode", Status.PASSED, "ok"))
    cell = displayed("autoencode", {"autoencode": _stub("autoencode")})
    monkeypatch.undo()
    assert judged("autoencode", cell)["status"] == "not attempted"


def test_patching_torch_allclose_passes_nothing_wrong(monkeypatch):
    wrong = lambda l, x: torch.zeros(())  # noqa: E731
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    cell = displayed("reconstruction_loss", {"reconstruction_loss": wrong})
    monkeypatch.undo()
    assert judged("reconstruction_loss", cell)["status"] == "failed"


def test_changing_the_checks_inputs_in_the_kernel_is_caught(monkeypatch):
    # With 3 steps instead of 7, a path of 3 fixed rows would pass in the kernel.
    monkeypatch.setattr(lat, "_STEPS", 3)
    cell = displayed("interpolate_codes", {"interpolate_codes": lambda a, b, s: torch.stack(
        [a, (a + b) / 2, b])})
    monkeypatch.undo()
    got = judged("interpolate_codes", cell)
    assert got["status"] == "error" and "not graded" in got["message"], got


def test_skipping_the_students_function_in_the_kernel_is_caught(monkeypatch):
    def no_call(fn, *args, **kwargs):  # hands back the reference's answer, records nothing
        return losses.reconstruction_loss(*args)

    monkeypatch.setattr(ae, "call_traced", lambda fn, *a, backward=None, **k: core.Trace(
        no_call(fn, *a)))
    cell = displayed("reconstruction_loss", {"reconstruction_loss": _stub("reconstruction_loss")})
    monkeypatch.undo()
    got = judged("reconstruction_loss", cell)
    assert got["status"] == "error" and "did not record" in got["message"], got


def test_a_forged_record_without_calls_is_caught(monkeypatch):
    def forged(self, namespace):
        return plain.to_bytes({"format": recording.FORMAT, "exercise": self.name,
                               "missing": [], "student": [("function", True)], "calls": []})

    monkeypatch.setattr(core.Exercise, "record_in", forged)
    cell = displayed("autoencode", {"autoencode": _stub("autoencode")})
    monkeypatch.undo()
    assert judged("autoencode", cell)["status"] == "error"


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/vae-course-payload-ran",))


def test_a_record_that_carries_code_is_refused_unrun():
    marker = Path("/tmp/vae-course-payload-ran")
    marker.unlink(missing_ok=True)
    data = base64.b64encode(pickle.dumps(_Payload())).decode()
    cell = {"outputs": [{"data": {grader_cell.MIME: {"exercise": "autoencode", "record": data}}}]}
    got = judged("autoencode", cell)
    assert got["status"] == "error" and not marker.exists()
    buffer = io.BytesIO()
    torch.save({"format": recording.FORMAT, "exercise": "autoencode", "x": _Payload()}, buffer)
    cell["outputs"][0]["data"][grader_cell.MIME]["record"] = base64.b64encode(
        buffer.getvalue()).decode()
    assert judged("autoencode", cell)["status"] == "error" and not marker.exists()


def test_fake_results_displayed_under_the_graders_mime_type_do_not_count():
    honest = displayed("autoencode", {"autoencode": _stub("autoencode")})
    fake = {grader_cell.MIME: {"exercise": "autoencode", "status": "passed", "message": "ok"}}
    twice = displayed("autoencode", {"autoencode": _stub("autoencode")}, fake)
    got = judged("autoencode", twice)
    assert got["status"] == "error" and "displayed 2 records" in got["message"]
    alone = {"outputs": [{"data": fake}]}
    assert judged("autoencode", alone)["status"] == "error"
    old_style = {"outputs": [{"data": {"application/vnd.vae-course.result+json": {
        "exercise": "autoencode", "status": "passed", "message": "ok"}}}]}
    assert judged("autoencode", old_style) is None  # no record: how the cell ran decides
    assert judged("autoencode", honest)["status"] == "not attempted"


def test_a_record_of_another_exercise_is_refused():
    cell = displayed("reconstruction_loss", {"reconstruction_loss": reconstruction_loss})
    cell["outputs"][0]["data"][grader_cell.MIME]["exercise"] = "autoencode"
    assert judged("autoencode", cell)["status"] == "error"


# ---------------------------------------------------------------- through `vae-course grade`

TRICKS = {
    "row1": "from vae_course.checks import core\n"
            "from vae_course.checks.results import Status\n"
            "core.run_and_record = lambda ex, st: (core.Result(ex.name, Status.PASSED, 'ok'), "
            "core.new_record(ex, (), st))",
    "row2": "import vae_course.tools.grader_cell as g\n"
            "from IPython.display import display\n"
            "g.record = lambda ns, name, extra=None: display({g.MIME: {'exercise': name, "
            "'status': 'passed'}}, raw=True)",
    "fakedisplay": "from IPython.display import display\n"
                    "fake = {'application/vnd.vae-course.record+json': {'exercise': 'autoencode', "
                    "'status': 'passed'}, 'application/vnd.vae-course.result+json': "
                    "{'exercise': 'autoencode', 'status': 'passed', 'message': 'ok'}}\n"
                    "get_ipython().events.register('post_run_cell', "
                    "lambda *a: display(fake, raw=True))",
    "allclose": "import torch\ntorch.allclose = lambda *a, **k: True\n"
                "def autoencode(encoder, decoder, x):\n    return torch.zeros(len(x), 2), "
                "torch.zeros(len(x), 784)\n"
                "def reconstruction_loss(logits, x):\n    return torch.zeros(())",
    "honest": "import torch.nn.functional as F\n"
              "def autoencode(encoder, decoder, x):\n    z = encoder(x.reshape(len(x), -1))\n"
              "    return z, decoder(z)\n"
              "def reconstruction_loss(logits, x):\n    return F.binary_cross_entropy_with_logits("
              "logits, x, reduction='none').sum(dim=1).mean()",
}


@pytest.mark.slow
def test_tricks_on_notebook_01_are_not_graded_passed(tmp_path):
    student = nbformat.read(REPO / "notebooks" / "01_autoencoder.ipynb", as_version=4)
    setup = next(c for c in student.cells if c.cell_type == "code" and "import" in c.source)
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, source in TRICKS.items():
        nb = nbformat.from_dict(json.loads(nbformat.writes(student)))
        nb.cells = [setup, nbformat.v4.new_code_cell(source)]
        nbformat.write(nb, folder / f"{name}-01_autoencoder.ipynb")
    out = tmp_path / "grades.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["grade", str(folder), "--timeout", "120", "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    got = {(Path(r["notebook"]).stem.split("-")[0], r["exercise"]): r["status"] for r in results}
    for trick in TRICKS:
        for exercise in ("autoencode", "reconstruction_loss"):
            status = got[trick, exercise]
            assert (status == "passed") == (trick == "honest"), (trick, exercise, status)


def test_replays_judge_alike_when_students_are_graded_at_once(monkeypatch):
    """``grade --jobs N`` judges several records at once; checks seed torch's global
    generator, so replays must not interleave (a replay drawing another's numbers would
    disagree with its record and grade a right answer as an error)."""
    import contextlib
    from concurrent.futures import ThreadPoolExecutor

    cell = displayed("autoencode", {"autoencode": autoencode})
    alone = judged("autoencode", cell)
    assert alone["status"] == "passed"
    with ThreadPoolExecutor(max_workers=8) as pool:
        at_once = list(pool.map(lambda _: judged("autoencode", cell), range(64)))
    assert all(v == alone for v in at_once)
    monkeypatch.setattr(grader_cell, "_REPLAYING", contextlib.nullcontext())  # the test can fail
    with ThreadPoolExecutor(max_workers=8) as pool:
        unguarded = list(pool.map(lambda _: judged("autoencode", cell), range(64)))
    assert any(v != alone for v in unguarded), "replays did not interleave: nothing was tested"
