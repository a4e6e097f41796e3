"""The contract that every checker shares, run over every exercise in ``EXERCISES``.

The data come from the test of each checker module: ``CASES`` in
``tests/library/checks/test_<module>.py`` for the exercises of
``vae_course/checks/<module>.py``. For every exercise:

* its reference and its correct answers in other styles pass;
* each wrong answer fails (or errs, where its entry says so) with its own hint, and no
  hint gives the answer away;
* the untouched stub reads "not attempted", and only the stub itself does;
* a crash of the student's code is "error", with the exception's type and message;
* something that is not a function gets a hint;
* a fault of the checker itself is a result, not a traceback;
* the global random state is left as found, whatever the student's code does to it;
* the grader's replay of a record gives the verdict the notebook gives, whatever torch
  settings the notebook changed.

An exercise registered without its ``CASES`` entry fails here.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from vae_course.checks import before_you_hand_in, exercises_for
from vae_course.checks.core import EXERCISES, replayed
from vae_course.tools.student_notebook import STUB_RAISE

from .cases import Cases, fails_with

HERE = Path(__file__).resolve().parent
TESTS = {path.stem.removeprefix("test_"): importlib.import_module(f"{__package__}.{path.stem}")
         for path in sorted(HERE.glob("test_*.py")) if path.stem != "test_contract"}
CASES: dict[str, Cases] = {name: cases for test in TESTS.values()
                           for name, cases in getattr(test, "CASES", {}).items()}
NAMES = list(EXERCISES)


def module_of(name: str) -> str:
    """The checker module of an exercise: 'kl' for vae_course/checks/kl.py."""
    return EXERCISES[name].run.__module__.rpartition(".")[2]


def cases_of(name: str) -> Cases:
    if name not in CASES:
        pytest.fail(f"exercise {name!r} has no test data: add CASES[{name!r}] = Cases(...) to "
                    f"tests/library/checks/test_{module_of(name)}.py")
    return CASES[name]


def check_of(name: str):
    return EXERCISES[name].run


def answers(name: str) -> dict:
    """Every correct answer of an exercise: its reference, then its other styles."""
    cases = cases_of(name)
    return {"reference": cases.reference, **cases.styles}


def stub(name: str, owner: str | None = None):
    """The exercise's function as the student notebook has it: its stub raise, untouched."""
    namespace = {}
    exec(f"def {owner or name}(*args, **kwargs):\n    {STUB_RAISE.format(name=name)}\n", namespace)
    return namespace[owner or name]


def verdict(name: str, fn):
    """The notebook's result, after checking that the grader's replay gives the same."""
    result = check_of(name)(fn)
    assert replayed(check_of(name), fn) == result
    return result


CORRECT = [(name, style) for name in CASES for style in answers(name)]
WRONG = [(name, case) for name in CASES for case in CASES[name].wrongs()]

# ---------------------------------------------------------------- the data are complete


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_has_its_cases_in_the_test_of_its_module(name):
    module = module_of(name)
    assert module in TESTS, (f"{name!r} is checked in vae_course/checks/{module}.py, so its "
                             f"CASES belong in tests/library/checks/test_{module}.py, which "
                             f"is missing")
    assert name in getattr(TESTS[module], "CASES", {}), (
        f"tests/library/checks/test_{module}.py has no CASES[{name!r}]")
    cases = cases_of(name)
    assert cases.wrongs(), f"{name!r} has no wrong answers"
    assert cases.styles, f"{name!r} has no correct answers in other styles"
    assert EXERCISES[name].needs == (name,)


def test_no_cases_for_an_exercise_that_is_not_registered():
    assert set(CASES) <= set(EXERCISES), set(CASES) - set(EXERCISES)

# ---------------------------------------------------------------- right and wrong answers


@pytest.mark.parametrize("name, style", CORRECT)
def test_a_correct_answer_passes(name, style):
    result = verdict(name, answers(name)[style])
    assert result.passed, result


@pytest.mark.parametrize("name, case", WRONG)
def test_a_wrong_answer_fails_with_its_own_hint(name, case):
    wrong = CASES[name].wrongs()[case]
    result = fails_with(verdict(name, wrong.fn), wrong.hint, wrong.statuses)
    for text in wrong.absent + CASES[name].leaks:
        assert text not in result.message, (text, result.message)

# ---------------------------------------------------------------- stubs, crashes, non-functions


@pytest.mark.parametrize("name", NAMES)
def test_the_untouched_stub_reads_not_attempted(name):
    result = verdict(name, stub(name))
    assert result.status == "not attempted"
    assert "NotImplementedError" in result.message


class _Helper(torch.nn.Module):
    def forwad(self, t):  # a typo: the module has no forward
        return t


def _unsupported(*args, **kwargs):  # torch's own NotImplementedError: no KL for this pair
    return kl_divergence(Independent(Normal(torch.zeros(2), 1.0), 1), Normal(0.0, 1.0))


@pytest.mark.parametrize("name", NAMES)
def test_only_the_stub_itself_reads_not_attempted(name):
    check = check_of(name)
    result = check(_unsupported)
    assert result.status == "error" and "NotImplementedError" in result.message, result
    assert "not the exercise's own placeholder" in result.message
    result = check(lambda *args, **kwargs: _Helper()(torch.zeros(1)))
    assert result.status == "error" and "forward" in result.message, result
    # another exercise's stub, reached from this one's function
    other = stub("reparameterize" if name != "reparameterize" else "gaussian_kl")
    result = check(lambda *args, **kwargs: other())
    assert result.status == "error" and "Exercise `" in result.message, result
    # the stub's message raised from somewhere else than the function it names
    assert check(stub(name, owner="helper_of_mine")).status == "error"


@pytest.mark.parametrize("exception, said", [
    (KeyError("oops"), "KeyError: 'oops'"),
    (ValueError("oops in my code"), "ValueError: oops in my code"),
    (AssertionError(), "AssertionError (without a message)"),
])
@pytest.mark.parametrize("name", NAMES)
def test_a_crash_of_the_student_code_is_an_error_with_its_message(name, exception, said):
    def crash(*args, **kwargs):
        raise exception
    result = verdict(name, crash)
    assert result.status == "error", result
    assert said in result.message and ": ." not in result.message, result.message


@pytest.mark.parametrize("name", NAMES)
def test_not_a_function_is_a_hint(name):
    fails_with(verdict(name, None), "expected a function")

# ---------------------------------------------------------------- the checker's own faults


@pytest.mark.parametrize("name", NAMES)
def test_a_fault_of_the_checker_is_a_result_not_a_traceback(name, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(torch, "allclose", broken)
    result = check_of(name)(cases_of(name).reference)
    assert result.status == "error", result
    assert result.message == ("the check could not judge this answer (RuntimeError: broken on "
                              "purpose).")

# ---------------------------------------------------------------- global state


def _random_state():
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


def _same_state(a, b) -> bool:
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def _draws_everywhere(fn):
    def wrapped(*args, **kwargs):
        np.random.rand()
        random.random()
        torch.manual_seed(12345)  # re-seeds the global stream
        return fn(*args, **kwargs)
    return wrapped


@pytest.mark.parametrize("name", NAMES)
def test_the_check_leaves_the_global_random_state_as_it_found_it(name):
    torch.manual_seed(7), np.random.seed(7), random.seed(7)
    for style, fn in answers(name).items():
        before = _random_state()
        assert check_of(name)(fn).passed, style
        assert _same_state(before, _random_state()), style
        check_of(name)(_draws_everywhere(fn))
        assert _same_state(before, _random_state()), style


@pytest.mark.parametrize("name", NAMES)
def test_the_notebooks_torch_settings_do_not_change_the_verdict(name):
    # A notebook that switched to float64 and turned gradients off is recorded in its
    # kernel; the grader, with torch's defaults, must find the inputs it builds itself.
    exercise, fn = EXERCISES[name], cases_of(name).reference
    torch.set_default_dtype(torch.float64)
    try:
        with torch.no_grad():
            record = exercise.record_in({name: fn})
            assert check_of(name)(fn).passed
            assert not torch.is_grad_enabled()
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    assert exercise.replay(record).passed


# ---- the "before you hand in" table -----------------------------------------------------

@pytest.mark.parametrize("notebook", sorted({e.notebook for e in EXERCISES.values()}))
def test_the_hand_in_table_lists_every_exercise_with_its_checkers_verdict(notebook):
    exercises = exercises_for(notebook)
    first = exercises[0]
    namespace = {name: (lambda *a, **k: None) for name in first.needs}  # answers None
    summary = before_you_hand_in(notebook, namespace)
    assert [r.exercise for r in summary.results] == [e.name for e in exercises]
    assert summary.results[0].status in ("failed", "error")
    assert all(r.status == "not attempted" for r in summary.results[1:]
               if not set(exercises[summary.results.index(r)].needs) <= set(namespace))
    table = summary._repr_markdown_()
    assert table.count("\n| `") == len(exercises) and "0 of" in table
