"""The traversal explorer of notebook 06 (vae_course.interactive.traversal)."""

import numpy as np
import pytest
import torch

from vae_course import losses
from vae_course.convolutional import ConvConfig, ConvVAE, traverse
from vae_course.interactive import traversal


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ConvVAE(ConvConfig(channels=(4, 8), latent_dim=5)).eval()


def test_active_dimensions_is_the_kl_per_dimension(model):
    x = torch.rand(50, 784)
    mu, logvar = model.encode(x)
    assert torch.allclose(traversal.active_dimensions(model, x, batch_size=16),
                          losses.kl_per_dimension(mu, logvar).detach(), atol=1e-6)


def test_traversal_rows_match_traverse(model):
    x = torch.rand(784)
    rows = traversal.traversal_rows(model, x, [1, 4], span=2.0, steps=5)
    assert rows.shape == (2, 5, 784)
    assert np.allclose(rows[1], traverse(model, x, 4, torch.linspace(-2, 2, 5)).numpy())
    with pytest.raises(ValueError, match="0..4"):
        traversal.traversal_rows(model, x, [5])


def test_traversal_explorer_redraws_when_a_control_moves(model):
    x, y = torch.rand(20, 784), torch.randint(0, 10, (20,))
    explorer = traversal.traversal_explorer(model, x, y, dims=[0, 2])
    image = explorer.images["traversal"]
    assert image.value == explorer.picture
    first = image.value
    explorer.controls["span"].value = 1.0
    assert image.value != first
    after_span = image.value
    explorer.controls["dims"].value = (1,)
    assert image.value != after_span
    after_dims = image.value
    explorer.controls["image"].value = 5
    assert image.value != after_dims
    bundle = explorer._repr_mimebundle_()
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle


def test_traversal_explorer_defaults_to_the_most_active_dimensions(model):
    x = torch.rand(30, 784)
    kl = torch.tensor([0.1, 3.0, 0.0, 2.0, 1.0])
    explorer = traversal.traversal_explorer(model, x, kl=kl)
    assert explorer.controls["dims"].value == (0, 1, 3, 4)  # all but the idle z2
