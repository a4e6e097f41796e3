"""Losses against hand computations and torch.distributions."""

import math

import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae_course import losses


def test_reconstruction_is_bernoulli_nll_summed_over_pixels_mean_over_batch():
    torch.manual_seed(0)
    logits, x = torch.randn(4, 784), torch.rand(4, 784).round()
    expected = -Bernoulli(logits=logits).log_prob(x).sum(dim=1).mean()
    assert torch.allclose(losses.reconstruction_loss(logits, x), expected, atol=1e-4)


def test_reconstruction_by_hand_for_one_pixel_image():
    logits, x = torch.tensor([[0.0]]), torch.tensor([[1.0]])
    assert math.isclose(losses.reconstruction_loss(logits, x).item(), math.log(2), rel_tol=1e-6)


def test_kl_is_zero_at_prior_and_positive_elsewhere():
    zero = torch.zeros(3, 5)
    assert losses.gaussian_kl(zero, zero).item() == 0.0
    assert losses.gaussian_kl(zero + 0.1, zero).item() > 0
    assert losses.gaussian_kl(zero, zero - 1).item() > 0


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(8, 4), torch.randn(8, 4)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = kl_divergence(q, p).sum(dim=1).mean()
    assert torch.allclose(losses.gaussian_kl(mu, logvar), expected, atol=1e-5)
    assert torch.allclose(losses.kl_per_dimension(mu, logvar).sum(), expected, atol=1e-5)


def test_monte_carlo_kl_agrees_with_closed_form():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 3) * 0.5, torch.randn(6, 3) * 0.5
    mc = losses.monte_carlo_kl(mu, logvar, n_samples=20000, generator=torch.Generator().manual_seed(1))
    assert abs(mc.item() - losses.gaussian_kl(mu, logvar).item()) < 0.05


def test_vae_loss_parts_and_beta():
    torch.manual_seed(0)
    logits, x = torch.randn(4, 784), torch.rand(4, 784)
    mu, logvar = torch.randn(4, 2), torch.randn(4, 2)
    parts = losses.vae_loss(logits, x, mu, logvar, beta=3.0)
    assert torch.allclose(parts.loss, parts.recon + 3.0 * parts.kl)
    assert torch.allclose(parts.recon, losses.reconstruction_loss(logits, x))
    assert torch.allclose(parts.kl, losses.gaussian_kl(mu, logvar))


def test_batch_size_does_not_change_the_loss_scale():
    torch.manual_seed(0)
    logits, x = torch.randn(2, 784), torch.rand(2, 784)
    doubled = losses.reconstruction_loss(torch.cat([logits, logits]), torch.cat([x, x]))
    assert torch.allclose(doubled, losses.reconstruction_loss(logits, x))
