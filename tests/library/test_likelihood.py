"""vae_course.likelihood: importance weights, the stable log-mean-exp, the K-sample bound.

References are independent: torch.distributions and F's BCE for the weights, exact
integrals of a model whose p(x) is known in closed form, torch.logsumexp for the mean.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from vae_course import likelihood
from vae_course.models import VAE, ModelConfig


def _tiny_vae(latent_dim=2, seed=0):
    torch.manual_seed(seed)
    return VAE(ModelConfig(input_dim=784, hidden=(16,), latent_dim=latent_dim)).eval()


def _images(n=6, seed=0):
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed))


def test_log_importance_weights_match_torch_distributions():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 784, generator=g) > 0.5).float()
    logits = torch.randn(3, 4, 784, generator=g)
    mu, logvar = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g) * 0.3
    z = torch.randn(3, 4, 2, generator=g)
    want = (-F.binary_cross_entropy_with_logits(logits, x[:, None].expand_as(logits),
                                                reduction="none").sum(-1)
            + Normal(0.0, 1.0).log_prob(z).sum(-1)
            - Normal(mu[:, None], torch.exp(0.5 * logvar[:, None])).log_prob(z).sum(-1))
    got = likelihood.log_importance_weights(x, logits, z, mu, logvar)
    assert got.shape == (3, 4)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-3)


def test_log_mean_exp_is_stable_where_exp_underflows():
    lw = torch.tensor([[-1000.0, -1001.0, -1100.0], [-200.0, -200.0, -200.0]])
    got = likelihood.log_mean_exp(lw, dim=1)
    want = torch.logsumexp(lw.double(), dim=1) - math.log(3)
    assert torch.isfinite(got).all()
    assert torch.allclose(got.double(), want, atol=1e-4)
    assert torch.isinf(torch.log(torch.exp(lw).mean(1))).all()  # the naive form fails here


def test_log_mean_exp_of_all_minus_infinity_is_minus_infinity_not_nan():
    got = likelihood.log_mean_exp(torch.full((2, 3), -math.inf), dim=1)
    assert torch.equal(got, torch.full((2,), -math.inf))


def test_log_weights_shape_device_and_seed():
    model, x = _tiny_vae(), _images()
    a = likelihood.log_weights(model, x, 7, seed=3)
    assert a.shape == (6, 7) and a.dtype == torch.float64 and a.device.type == "cpu"
    assert torch.equal(a, likelihood.log_weights(model, x, 7, seed=3))
    assert not torch.equal(a, likelihood.log_weights(model, x, 7, seed=4))


def test_log_weights_chunks_over_samples_too():
    model, x = _tiny_vae(), _images(2)
    lw = likelihood.log_weights(model, x, 10, seed=0, chunk=3)  # 4 pieces of codes per image
    assert lw.shape == (2, 10) and torch.isfinite(lw).all()


@pytest.mark.parametrize("fn", [lambda m, x: likelihood.log_weights(m, x, 3),
                                 lambda m, x: likelihood.grid_log_px(m, x, step=0.5),
                                 lambda m, x: likelihood.log_joint_grid(m, x[0], *[torch.zeros(2)] * 2)])
def test_inputs_go_to_the_model_device(fn):
    """A model on `meta` stands in for a GPU: a CPU input reaching it raises 'is not on the
    expected device'; moved inputs get as far as copying the (data-less) result back."""
    model = _tiny_vae().to("meta")
    with pytest.raises(NotImplementedError, match="meta tensor"):
        fn(model, _images(2))
    with pytest.raises(RuntimeError, match="expected device"):
        model.decode(torch.zeros(1, 2))  # the guard this test relies on


def test_log_weights_keep_the_training_mode():
    model = _tiny_vae().train()
    likelihood.log_weights(model, _images(2), 3)
    assert model.training


class _LinearGaussianVAE(nn.Module):
    """x | z ~ Bernoulli(sigmoid(w z)) in 1 pixel: p(x) has no closed form, but for a
    proposal equal to the prior the weights are p(x|z), so the estimate must converge to
    the 1-D integral, computed here by quadrature."""

    def __init__(self, w=2.0):
        super().__init__()
        self.config = ModelConfig(input_dim=1, hidden=(1,), latent_dim=1)
        self.w = nn.Parameter(torch.tensor([[w]]))

    def encode(self, x):
        zeros = torch.zeros(len(x), 1, device=self.w.device)
        return zeros, zeros  # q(z|x) = p(z)

    def decode(self, z):
        return z @ self.w.T


def test_estimate_converges_to_the_integral():
    model = _LinearGaussianVAE()
    x = torch.tensor([[1.0], [0.0]])
    z = torch.linspace(-10, 10, 200_001)
    step = (z[1] - z[0]).item()
    p_one = (torch.sigmoid(2 * z) * Normal(0.0, 1.0).log_prob(z).exp()).sum() * step
    want = torch.stack([p_one.log(), (1 - p_one).log()]).double()
    got = likelihood.estimate(model, x, 200_000, seed=0)
    assert torch.allclose(got, want, atol=5e-3)


def test_bound_rises_with_k_and_k1_is_the_mean_log_weight():
    model, x = _tiny_vae(), _images(8)
    lw = likelihood.log_weights(model, x, 1000, seed=0)
    bounds = likelihood.bound_by_k(lw, [1, 10, 100, 1000])
    assert bounds[1] == pytest.approx(lw.mean().item())
    values = [bounds[k] for k in (1, 10, 100, 1000)]
    assert values == sorted(values)
    with pytest.raises(ValueError, match="needs at least"):
        likelihood.bound_by_k(lw, [2000])


def test_grid_log_px_agrees_with_a_many_sample_estimate_for_a_2d_vae():
    model, x = _tiny_vae(seed=1), _images(3, seed=1)
    grid = likelihood.grid_log_px(model, x, limit=6.0, step=0.05)
    finer = likelihood.grid_log_px(model, x, limit=6.0, step=0.025, chunk=5000)
    assert torch.allclose(grid, finer, atol=0.01)  # the grid is fine enough
    iwae = likelihood.estimate(model, x, 5000, seed=0)
    assert torch.all(iwae <= grid + 0.05)
    assert torch.allclose(grid, iwae, atol=0.3)


def test_grid_log_px_refuses_other_latent_sizes():
    with pytest.raises(ValueError, match="2-D"):
        likelihood.grid_log_px(_tiny_vae(latent_dim=3), _images(1))


def test_log_joint_grid_shape_and_values():
    model, x = _tiny_vae(), _images(1)
    z1, z2 = torch.linspace(-1, 1, 5), torch.linspace(-2, 2, 3)
    grid = likelihood.log_joint_grid(model, x[0], z1, z2)
    assert grid.shape == (3, 5)
    z = torch.tensor([[z1[4].item(), z2[0].item()]])
    with torch.no_grad():
        logits = model.decode(z)
    want = (-F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum()
            + Normal(0.0, 1.0).log_prob(z).sum())
    assert grid[0, 4].item() == pytest.approx(want.item(), abs=1e-3)


def test_binarize_is_seeded_and_binary_with_the_grey_level_as_probability():
    x = torch.full((200, 784), 0.3)
    b = likelihood.binarize(x, seed=0)
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(b, likelihood.binarize(x, seed=0))
    assert abs(b.mean().item() - 0.3) < 0.01


def test_grey_level_ceiling_is_minus_the_entropy_and_zero_for_binary_images():
    x = torch.tensor([[0.0, 1.0, 0.5, 0.5]])
    assert likelihood.grey_level_ceiling(x).item() == pytest.approx(-2 * math.log(2))
    assert likelihood.grey_level_ceiling(torch.tensor([[0.0, 1.0]])).item() == 0.0
    # No Bernoulli decoder beats it on a grey image: try the best one, p = x, and another.
    x = torch.tensor([[0.2, 0.7, 0.9]])
    for p in (x, torch.tensor([[0.5, 0.5, 0.5]])):
        loglik = -F.binary_cross_entropy(p, x, reduction="sum")
        assert loglik.item() <= likelihood.grey_level_ceiling(x).item() + 1e-6


def test_bound_vs_k_draws_the_bound_the_elbo_and_the_truth():
    from matplotlib.figure import Figure

    from vae_course import plots

    fig = plots.bound_vs_k({1: -150.0, 10: -148.0, 100: -147.5}, elbo=-150.2, truth=-147.0,
                           title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
    assert len(ax.lines) == 3  # the bound, the ELBO and the truth
    assert list(ax.lines[0].get_ydata()) == [-150.0, -148.0, -147.5]
    own = Figure()
    assert plots.bound_vs_k({1: -1.0, 2: -0.5}, ax=own.subplots()) is own
