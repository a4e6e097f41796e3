"""Calls of student code, run and recorded in the kernel, read back in the grader
(vae_course.checks.recording)."""

import torch

from vae_course.checks import core


def test_student_objects_reach_a_checker_only_through_call():
    seen = []

    @core.checker("handle_toy", "99_handle_toy", needs=("make",), success="ok")
    def check_handle_toy(make):
        model = core.call(make, 3)  # not plain data: a handle
        seen.append(type(model).__name__)
        out = core.call(model, torch.ones(2, 3))
        if not isinstance(out, torch.Tensor) or out.shape != (2, 1):
            raise core.Hint("wrong shape")
        model.weight  # noqa: B018  (using the handle directly is a fault of the checker)

    try:
        result = check_handle_toy(lambda n: torch.nn.Linear(n, 1))
        assert seen == ["Linear"]
        assert result.status == "error" and "only through call" in result.message
        assert core.replayed(check_handle_toy, lambda n: torch.nn.Linear(n, 1)) == result
    finally:
        del core.EXERCISES["handle_toy"]
