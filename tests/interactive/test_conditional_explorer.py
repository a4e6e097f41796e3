"""The explorer of the conditional VAE (vae_course.interactive.conditional_explorer)."""

import numpy as np
import pytest
import torch

from vae_course import conditional as cond
from vae_course.conditional import CVAE, CVAEConfig
from vae_course.interactive.conditional_explorer import conditional_explorer, conditional_frames

SMALL = CVAEConfig(hidden=(32,), latent_dim=2)


def test_conditional_frames_decode_the_same_z_under_every_label():
    torch.manual_seed(0)
    m = CVAE(SMALL)
    f = conditional_frames(m, [0.5, -1.0], 7)
    assert f.row.shape == (10, 28, 28) and f.chosen.shape == (28, 28)
    assert np.array_equal(f.chosen, f.row[7])
    want = cond.generate(m, torch.tensor([[0.5, -1.0]]), 7).reshape(28, 28).numpy()
    assert np.allclose(f.chosen, want, atol=1e-6)
    with pytest.raises(ValueError, match="between 0 and 9"):
        conditional_frames(m, [0.0, 0.0], 10)
    with pytest.raises(ValueError, match="2 values"):
        conditional_frames(m, [0.0, 0.0, 0.0], 1)


def test_explorer_controls_change_its_images_and_it_has_a_picture():
    torch.manual_seed(0)
    ex = conditional_explorer(CVAE(SMALL), label=3)
    assert set(ex.controls) == {"digit", "z1", "z2"} and set(ex.images) == {"digit", "all digits"}
    assert ex.picture.startswith(b"\x89PNG")
    bundle = ex._repr_mimebundle_()
    assert {"text/plain", "image/png"} <= set(bundle)
    before = ex.images["digit"].value, ex.images["all digits"].value
    ex.controls["digit"].value = 8  # another label: the big image changes, the row's frame moves
    after_label = ex.images["digit"].value, ex.images["all digits"].value
    assert after_label[0] != before[0] and after_label[1] != before[1]
    ex.controls["z1"].value = 2.0  # another style: every image changes
    assert ex.images["digit"].value != after_label[0]
    assert ex.images["all digits"].value != after_label[1]
