"""The convolutional VAE of notebook 06 (vae_course.convolutional)."""

import numpy as np
import pytest
import torch
from torch import nn

from vae_course import losses
from vae_course.convolutional import ConvConfig, ConvVAE, as_images, traverse


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ConvVAE(ConvConfig(channels=(4, 8), latent_dim=5)).eval()


def test_shapes_layer_by_layer():
    m = ConvVAE()  # the defaults of the module docstring
    x = torch.rand(3, 1, 28, 28)
    sides = []
    h = x
    for layer in m.encoder:
        h = layer(h)
        sides.append(tuple(h.shape[1:]))
    assert sides[1] == (32, 14, 14) and sides[3] == (64, 7, 7) and sides[-1] == (3136,)
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (3, 16)
    assert m.decode(mu).shape == (3, 1, 28, 28)


def test_encode_accepts_flat_and_image_batches(model):
    x = torch.rand(4, 784)
    a, b = model.encode(x), model.encode(x.reshape(4, 1, 28, 28))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match=r"\(B, 784\) or \(B, 1, 28, 28\)"):
        model.encode(torch.rand(4, 780))


def test_forward_returns_flat_logits_that_the_course_losses_take(model):
    x = torch.rand(6, 784)
    logits, mu, logvar = model(x)
    assert logits.shape == (6, 784) and mu.shape == (6, 5)
    parts = losses.model_loss(model, x)
    assert parts.loss.item() > 0 and parts.kl.item() >= 0


def test_decoder_ends_without_an_activation(model):
    z = torch.randn(32, 5) * 30
    with torch.no_grad():
        logits = model.decode(z)
    assert logits.min() < -1 and logits.max() > 1
    assert not isinstance(model.decoder[-1], (nn.Sigmoid, nn.ReLU, nn.Tanh))


def test_reparameterize_is_mu_plus_std_eps(model):
    mu, logvar = torch.full((20_000, 2), 1.5), torch.full((20_000, 2), np.log(4.0))
    z = model.reparameterize(mu, logvar)
    assert abs(z.mean().item() - 1.5) < 0.05 and abs(z.std().item() - 2.0) < 0.05


def test_config_validates_and_builds_through_the_registry():
    with pytest.raises(ValueError, match="positive"):
        ConvConfig(latent_dim=0)
    with pytest.raises(ValueError, match="divisible"):
        ConvConfig(channels=(8, 8, 8))
    assert ConvConfig().features == 64 * 7 * 7 and as_images(torch.rand(2, 784)).shape == (2, 1, 28, 28)


def test_traverse_sets_one_dimension_of_the_mean_code(model):
    x = torch.rand(784)
    values = torch.tensor([-2.0, 0.0, 2.0])
    out = traverse(model, x, 3, values)
    assert out.shape == (3, 784) and 0 <= out.min() and out.max() <= 1
    mu = model.encode(x[None])[0]
    z = mu.repeat(3, 1)
    z[:, 3] = values
    assert torch.allclose(out, torch.sigmoid(model.decode(z)).reshape(3, 784))
    assert torch.equal(out, traverse(model, x, 3, values))  # the mean: no sampling


def test_traverse_moves_inputs_to_the_models_device(model):
    meta = ConvVAE(model.config).to("meta")
    with pytest.raises(NotImplementedError):  # reached the model on meta, not a device mix-up
        traverse(meta, torch.rand(784), 0, torch.zeros(2))
