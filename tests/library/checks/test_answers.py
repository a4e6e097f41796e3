"""The watch on the course's own answers (vae_course/checks/answers.py): a check, in the
notebook and in the grader's replay alike, fails an answer that runs the course's code."""

import sys
import threading

import torch.nn.functional as F

from vae_course import losses
from vae_course.checks.answers import Watch
from vae_course.checks.autoencoder import check_reconstruction_loss
from vae_course.checks.core import replayed
from vae_course.checks.kl import check_vae_loss

from .cases import COPIED


def honest(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1).mean()


def _through_a_thread(logits, x):
    out = []
    t = threading.Thread(target=lambda: out.append(losses.reconstruction_loss(logits, x)))
    t.start()
    t.join()
    return out[0]


def _import_inside(logits, x):
    from vae_course.losses import reconstruction_loss as r
    return r(logits, x)


namespace = {}
exec("def _made_by_exec(logits, x):\n    return L.reconstruction_loss(logits, x)\n",
     {"L": losses}, namespace)

COPIES = {
    "the reference itself": losses.reconstruction_loss,
    "an alias": lambda l, x: (lambda f: f(l, x))(losses.reconstruction_loss),
    "getattr with a computed name": lambda l, x: getattr(losses, "reconstruction" + "_loss")(l, x),
    "an extra answer (vae_loss)": lambda l, x: losses.vae_loss(l, x, l[:, :2] * 0, l[:, :2] * 0).recon,
    "made by exec": namespace["_made_by_exec"],
    "imported inside": _import_inside,
    "through a thread started inside": _through_a_thread,
}


def test_each_way_of_running_the_reference_is_copied_in_the_notebook_and_in_the_grader():
    for how, fn in COPIES.items():
        result = check_reconstruction_loss(fn)
        assert result.status == "failed" and result.message.startswith(COPIED), (how, result)
        assert "vae_course.losses." in result.message, how
        assert replayed(check_reconstruction_loss, fn) == result, how


def test_honest_code_passes_and_an_earlier_exercises_reference_is_allowed():
    assert check_reconstruction_loss(honest).passed

    def vae_loss(logits, x, mu, logvar, beta=1.0):  # as the solution of notebook 04 does
        recon, kl = losses.reconstruction_loss(logits, x), losses.gaussian_kl(mu, logvar)
        return recon + beta * kl, recon, kl

    assert check_vae_loss(vae_loss).passed


def test_switching_the_watch_off_credits_nothing_and_the_hook_is_put_back():
    before = sys.getprofile()

    def sneaky(logits, x):
        sys.setprofile(None)
        return losses.reconstruction_loss(logits, x)

    result = check_reconstruction_loss(sneaky)
    assert result.status == "failed" and "not credited" in result.message
    assert replayed(check_reconstruction_loss, sneaky) == result
    assert sys.getprofile() is before and threading.getprofile() is None


def test_a_wrong_answer_keeps_its_own_hint():
    result = check_reconstruction_loss(lambda l, x: losses.reconstruction_loss(l, x) / 784)
    assert result.status == "failed" and "784 times too small" in result.message


def test_the_watch_ignores_the_checks_own_code_and_other_names():
    with Watch("reconstruction_loss", ("reconstruction_loss",)) as watch:
        losses.gaussian_kl(*[__import__("torch").zeros(1, 2)] * 2)
    assert watch.seen == [] and not watch.tampered
