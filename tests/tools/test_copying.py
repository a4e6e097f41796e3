"""Copy detection: an exercise answered with the course's own reference is reported.

Static cases need no kernel; one end-to-end run grades a lesson 01 submission (its setup
cell and the exercise cells) with one exercise honest and one copied.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from vae_course.checks import EXERCISES, exercises_for
from vae_course.tools import cli
from vae_course.tools.copying import find_copies
from vae_course.tools.student_notebook import put_back, student_notebook

REPO = Path(__file__).resolve().parents[2]
SETUP = ("import torch\nimport torch.nn.functional as F\n"
         "from vae_course import data, losses, models, train\n")
HONEST_LOSS = ("def reconstruction_loss(logits, x):\n"
               "    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction='none')\n"
               "    return per_pixel.sum(dim=1).mean()")
HONEST_AE = ("def autoencode(encoder, decoder, x):\n"
             "    z = encoder(x.reshape(len(x), -1))\n"
             "    return z, decoder(z)")


def notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in
                                           (SETUP, *sources)])


def copies(lesson: str, *sources: str) -> dict[str, str]:
    return find_copies(notebook(*sources), exercises_for(lesson))


# (exercise, the submission's cells) for lessons 01, 03 and 04
CHEATS = {
    "direct call": ("reconstruction_loss", [
        "def reconstruction_loss(logits, x):\n    return losses.reconstruction_loss(logits, x)"]),
    "import alias": ("reconstruction_loss", [
        "from vae_course.losses import reconstruction_loss as r",
        "def reconstruction_loss(logits, x):\n    return r(logits, x)"]),
    "module alias": ("reconstruction_loss", [
        "L = losses", "def reconstruction_loss(logits, x):\n    return L.reconstruction_loss(logits, x)"]),
    "local alias": ("reconstruction_loss", [
        "def reconstruction_loss(logits, x):\n    L = losses\n    f = L.reconstruction_loss\n"
        "    return f(logits, x)"]),
    "getattr": ("reconstruction_loss", [
        "def reconstruction_loss(logits, x):\n"
        "    return getattr(losses, 'reconstruction_loss')(logits, x)"]),
    "assignment": ("reconstruction_loss", ["reconstruction_loss = losses.reconstruction_loss"]),
    "plain import": ("reconstruction_loss", ["from vae_course.losses import reconstruction_loss"]),
    "star import": ("reconstruction_loss", ["from vae_course.losses import *"]),
    "globals": ("reconstruction_loss", [
        "globals()['reconstruction_loss'] = losses.reconstruction_loss"]),
    "lambda": ("reconstruction_loss", [
        "reconstruction_loss = lambda l, x: losses.vae_loss(l, x, l[:, :2] * 0, l[:, :2] * 0).recon"]),
    "default argument": ("reconstruction_loss", [
        "def reconstruction_loss(logits, x, f=losses.reconstruction_loss):\n    return f(logits, x)"]),
    "through a helper": ("reconstruction_loss", [
        "def helper(a, b):\n    return losses.reconstruction_loss(a, b)",
        "def reconstruction_loss(logits, x):\n    return helper(logits, x)"]),
    "the checker's reference": ("reconstruction_loss", [
        "from vae_course.checks.autoencoder import _reference_loss as reconstruction_loss"]),
    "__getattribute__": ("reconstruction_loss", [
        "def reconstruction_loss(logits, x):\n"
        "    return losses.__getattribute__('reconstruction_loss')(logits, x)"]),
    "__dict__": ("reconstruction_loss", [
        "reconstruction_loss = losses.__dict__['reconstruction_loss']"]),
    "exec at the top": ("reconstruction_loss", [
        "exec('reconstruction_loss = losses.reconstruction_loss')"]),
    "importlib": ("reconstruction_loss", [
        "import importlib\nreconstruction_loss = importlib.import_module('vae_course.losses')"
        ".reconstruction_loss"]),
    "the model class": ("autoencode", [
        "def autoencode(encoder, decoder, x):\n    ae = models.Autoencoder()\n"
        "    ae.encoder, ae.decoder = encoder, decoder\n    z = ae.encode(x)\n"
        "    return z, ae.decode(z)"]),
    "after a magic": ("reconstruction_loss", [
        "%timeit 1 + 1\ndef reconstruction_loss(logits, x):\n"
        "    return losses.reconstruction_loss(logits, x)"]),
}
LATER = {  # other lessons
    "the model's own method": ("03_reparameterization", "reparameterize", [
        "model, _ = zoo.load('vae')",
        "def reparameterize(mu, logvar):\n    return model.reparameterize(mu, logvar)"]),
    "the unbound method": ("03_reparameterization", "reparameterize", [
        "def reparameterize(mu, logvar):\n    return models.VAE.reparameterize(None, mu, logvar)"]),
    "kl reference": ("04_kl_regularization", "gaussian_kl", [
        "def gaussian_kl(mu, logvar):\n    return losses.gaussian_kl(mu, logvar)"]),
    "calling the model": ("07_conditional_vae", "cvae_forward", [
        "def cvae_forward(model, x, y):\n    return model(x, y)"]),
    "the conv decoder": ("06_convolutional_vae", "make_decoder", [
        "from vae_course import convolutional as cv",
        "def make_decoder(latent_dim):\n    return cv.ConvVAE(latent_dim=latent_dim).decoder"]),
    "elbo reference": ("04_kl_regularization", "vae_loss", [
        "from vae_course.losses import vae_loss as v",
        "def vae_loss(logits, x, mu, logvar, beta=1.0):\n    return v(logits, x, mu, logvar, beta)"]),
}


@pytest.mark.parametrize("case", CHEATS)
def test_copying_the_reference_is_reported(case):
    exercise, cells = CHEATS[case]
    other = HONEST_AE if exercise == "reconstruction_loss" else HONEST_LOSS
    found = copies("01_autoencoder", other, *cells)
    assert list(found) == [exercise]
    assert found[exercise].startswith("copied: cell ")
    assert "write the computation yourself" in found[exercise]


@pytest.mark.parametrize("case", LATER)
def test_copying_in_later_lessons_is_reported(case):
    lesson, exercise, cells = LATER[case]
    found = copies(lesson, *cells)
    assert list(found) == [exercise] and found[exercise].startswith("copied: ")


def test_the_message_names_the_cell_and_the_reference():
    found = copies("01_autoencoder", HONEST_AE, "L = losses",
                   "def reconstruction_loss(logits, x):\n    return L.reconstruction_loss(logits, x)")
    assert "cell 4 uses the course's own `vae_course.losses.reconstruction_loss`" in found[
        "reconstruction_loss"]


@pytest.mark.parametrize("source", [
    "def reconstruction_loss(logits, x):\n    return eval('losses.reconstruction_loss')(logits, x)",
    "def reconstruction_loss(logits, x):\n    name = 'reconstruction' + '_loss'\n"
    "    return getattr(losses, name)(logits, x)",
    "import importlib\ndef reconstruction_loss(logits, x):\n"
    "    return importlib.import_module('vae_' + 'course.losses').reconstruction_loss(logits, x)",
    "def reconstruction_loss(logits, x):\n    name = 'reconstruction_loss'\n"
    "    return losses.__getattribute__(name)(logits, x)",
    "def reconstruction_loss(logits, x):\n    m = __import__('vae_course.' + 'losses')\n"
    "    return m.losses.reconstruction_loss(logits, x)",
])
def test_code_the_grader_cannot_read_is_not_credited(source):
    found = copies("01_autoencoder", HONEST_AE, source)
    # "not credited", or "copied" where the name of the reference still shows
    assert found["reconstruction_loss"].startswith(("not credited: cell", "copied: cell"))
    if "eval" in source:
        assert found["reconstruction_loss"].startswith("not credited: cell 3 runs")


def test_code_run_from_a_computed_string_or_a_file_credits_nothing():
    for source in ("code = 'reconstruction_loss = ' + 'losses.reconstruction_loss'\nexec(code)",
                   "%run my_answers.py"):
        found = copies("01_autoencoder", HONEST_AE, HONEST_LOSS, source)
        assert sorted(found) == ["autoencode", "reconstruction_loss"], source
        assert all(m.startswith("not credited: cell 4 runs code that the grader cannot read")
                   for m in found.values())
    assert copies("01_autoencoder", HONEST_AE, HONEST_LOSS, "exec('y = 2 * 21')") == {}


def test_honest_code_and_using_the_reference_elsewhere_are_fine():
    found = copies("01_autoencoder", HONEST_AE, HONEST_LOSS,
                   "logits, x = torch.zeros(2, 784), torch.rand(2, 784)\n"
                   "print(reconstruction_loss(logits, x), losses.reconstruction_loss(logits, x))",
                   "model = models.Autoencoder()\nz = model.encode(torch.rand(2, 784))")
    assert found == {}


def test_an_exercise_may_use_the_reference_of_an_earlier_one():
    # as the solution of vae_loss does with losses.gaussian_kl
    found = copies("04_kl_regularization",
                   "def vae_loss(logits, x, mu, logvar, beta=1.0):\n"
                   "    recon = losses.reconstruction_loss(logits, x)\n"
                   "    kl = losses.gaussian_kl(mu, logvar)\n"
                   "    return recon + beta * kl, recon, kl")
    assert found == {}


@pytest.mark.parametrize("lesson", sorted({e.notebook for e in EXERCISES.values()}))
def test_the_solutions_and_student_notebooks_are_not_flagged(lesson):
    path = REPO / "solutions" / f"{lesson}.ipynb"
    assert path.exists(), f"lesson {lesson} has exercises but no solution notebook {path}"
    solution = nbformat.read(path, as_version=4)
    exercises = exercises_for(lesson)
    assert find_copies(solution, exercises) == {}
    student = student_notebook(solution, lesson)
    assert find_copies(student, exercises) == {}
    assert find_copies(put_back(student, solution), exercises) == {}


def test_the_submission_is_read_never_run(tmp_path):
    decoy = tmp_path / "decoy.txt"
    decoy.write_text("untouched")
    found = copies("01_autoencoder", f"open({str(decoy)!r}, 'w').write('run!')\nraise SystemExit",
                   "def reconstruction_loss(logits, x):\n    return losses.reconstruction_loss(logits, x)")
    assert list(found) == ["reconstruction_loss"] and decoy.read_text() == "untouched"


@pytest.mark.slow
def test_grading_reports_a_copy_and_passes_the_honest_exercise(tmp_path):
    """A lesson 01 submission of its setup cell and its exercises, one of them copied."""
    solution = nbformat.read(REPO / "solutions" / "01_autoencoder.ipynb", as_version=4)
    setup = next(c for c in solution.cells if "from vae_course import" in c.source)
    nb = nbformat.v4.new_notebook(cells=[setup, nbformat.v4.new_code_cell(HONEST_AE),
                                         nbformat.v4.new_code_cell(
                                             "reconstruction_loss = losses.reconstruction_loss")])
    nbformat.write(nb, tmp_path / "alice_01_autoencoder.ipynb")
    out = tmp_path / "grades.json"
    assert cli.main(["grade", str(tmp_path / "alice_01_autoencoder.ipynb"), "--timeout", "120",
                     "--json", str(out)]) == 0
    got = {r["exercise"]: (r["status"], r["message"], r["student"])
           for r in json.loads(out.read_text())["results"]}
    assert got["autoencode"][0] == "passed" and got["autoencode"][2] == "alice"
    assert got["reconstruction_loss"][0] == "failed"
    assert got["reconstruction_loss"][1].startswith("copied: cell 3 ")


def test_a_notebook_that_cannot_be_read_passes_nothing(monkeypatch):
    import vae_course.tools.copying as copying

    def broken(nb, exercises):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(copying, "find_copies", broken)
    outcome = copying.copies_failed(notebook(), exercises_for("01_autoencoder"),
                                    [("passed", "ok."), ("failed", "a hint.")])
    assert [status for status, _ in outcome] == ["error", "failed"]
    assert all("grade it by hand" in message for _, message in outcome)


def test_copied_exercises_are_failed_and_the_others_kept():
    import vae_course.tools.copying as copying

    nb = notebook(HONEST_AE, "reconstruction_loss = losses.reconstruction_loss")
    outcome = copying.copies_failed(nb, exercises_for("01_autoencoder"),
                                    [("passed", "ok."), ("passed", "ok.")])
    assert outcome[0] == ("passed", "ok.")
    assert outcome[1][0] == "failed" and outcome[1][1].startswith("copied: cell 3 ")
