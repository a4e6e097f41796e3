"""The comparisons of vae_course/checks/core.py that every checker judges with."""

import torch

from vae_course.checks import core


def test_a_device_or_dtype_mix_in_a_comparison_is_not_a_crash():
    assert core.close(torch.ones(3, dtype=torch.float64), torch.ones(3))
    assert core.close(torch.ones(3), torch.ones(3, dtype=torch.float16))
    assert not core.close(torch.ones(3), torch.ones(4))  # shapes that do not broadcast
