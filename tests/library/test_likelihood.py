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


@pytest.mark.parametrize("fn", [
    lambda m, x: likelihood.grid_integral(m, x, step=0.5),
    lambda m, x: likelihood.gaussian_elbo(m, x, *[torch.zeros(2, 2)] * 2, torch.zeros(2, 3, 2)),
    lambda m, x: likelihood.best_gaussian(m, x, steps=1),
    lambda m, x: likelihood.posterior_view(m, x[0], n=5),
    lambda m, x: likelihood.log_weights(m, x, 3, proposal=(torch.zeros(2, 2), torch.zeros(2, 2)))])
def test_the_gap_tools_move_their_inputs_to_the_model_device(fn):
    model = _tiny_vae().to("meta")
    with pytest.raises(NotImplementedError, match="meta tensor"):
        fn(model, _images(2))


def test_a_proposal_replaces_the_encoder():
    model, x = _tiny_vae(), _images(3)
    with torch.no_grad():
        q = model.encode(x)
    own = likelihood.log_weights(model, x, 20, seed=5)
    assert torch.allclose(likelihood.log_weights(model, x, 20, seed=5, proposal=q), own)
    wide = (q[0], q[1] + 2.0)  # another proposal: other codes, other weights, the same target
    assert not torch.allclose(likelihood.log_weights(model, x, 20, seed=5, proposal=wide), own)
    many = likelihood.estimate(model, x, 20_000, seed=0, proposal=wide)
    assert torch.allclose(many, likelihood.estimate(model, x, 20_000, seed=0), atol=0.05)
    with pytest.raises(ValueError, match="one \\(mu, logvar\\) row per image"):
        likelihood.log_weights(model, x, 5, proposal=(q[0][:2], q[1][:2]))


def test_estimate_with_the_prior_as_proposal_converges_to_the_integral():
    model = _LinearGaussianVAE()
    x = torch.tensor([[1.0], [0.0]])
    prior = (torch.zeros(2, 1), torch.zeros(2, 1))
    assert torch.allclose(likelihood.estimate(model, x, 50_000, seed=1, proposal=prior),
                          likelihood.estimate(model, x, 50_000, seed=1), atol=1e-9)


def test_grid_integral_gives_log_px_and_the_share_on_the_outer_band():
    model, x = _tiny_vae(seed=1), _images(3, seed=1)
    log_px, edge = likelihood.grid_integral(model, x, limit=6.0, step=0.05)
    assert torch.equal(log_px, likelihood.grid_log_px(model, x, limit=6.0, step=0.05))
    # N(0, I) barely reaches the band beyond 5.5
    assert edge.shape == (3,) and bool(((edge >= 0) & (edge < 1e-3)).all())
    _, narrow = likelihood.grid_integral(model, x, limit=1.0, step=0.05, edge=0.5)
    assert bool((narrow > 0.3).all())  # a grid of half-width 1: much of the mass lies beyond 0.5


def test_gaussian_elbo_is_the_sampled_reconstruction_minus_the_closed_form_kl():
    model, x = _tiny_vae(), _images(2)
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(2, 2, generator=g), torch.randn(2, 2, generator=g) * 0.3
    eps = torch.randn(2, 7, 2, generator=g)
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps  # (2, 7, 2)
    with torch.no_grad():
        logits = model.decode(z.reshape(-1, 2)).reshape(2, 7, 784)
    recon = -F.binary_cross_entropy_with_logits(logits, x[:, None].expand_as(logits),
                                                reduction="none").sum(-1).mean(1)
    q = Normal(mu, torch.exp(0.5 * logvar))
    kl = torch.distributions.kl_divergence(q, Normal(0.0, 1.0)).sum(1)
    mu.requires_grad_(True)
    got = likelihood.gaussian_elbo(model, x, mu, logvar, eps)
    assert torch.allclose(got, recon - kl, atol=1e-3)
    got.sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0


def test_best_gaussian_beats_the_encoder_and_leaves_the_weights_alone():
    model, x = _tiny_vae(seed=2), _images(4, seed=2)
    model.to_mu.requires_grad_(False)  # a mixed state, to be restored as it was
    before = [p.requires_grad for p in model.parameters()]
    weights = [p.detach().clone() for p in model.parameters()]
    eps = torch.randn(4, 500, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        q = model.encode(x)
        best = likelihood.best_gaussian(model, x, steps=200, lr=0.05)
        assert likelihood.gaussian_elbo(model, x, *best, eps).mean() > \
            likelihood.gaussian_elbo(model, x, *q, eps).mean()
    assert [p.requires_grad for p in model.parameters()] == before
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters()))
    start = (torch.full((4, 2), 0.5), torch.full((4, 2), -1.0))
    unmoved = likelihood.best_gaussian(model, x, steps=0, start=start)
    assert all(torch.equal(a, b) for a, b in zip(unmoved, start))


def test_posterior_view_frames_the_posterior_and_the_gaussians():
    model, x = _tiny_vae(seed=1), _images(1, seed=1)[0]
    far = (torch.tensor([4.0, -4.0]), torch.tensor([-4.0, -4.0]))  # a narrow Gaussian far away
    view = likelihood.posterior_view(model, x, {"far": far}, n=60)
    assert view.log_post.shape == (60, 60) and view.log_q["far"].shape == (60, 60)
    assert view.z1.min() < 4 - 4 * 0.14 and view.z1.max() > 4  # the Gaussian is in the frame
    # the posterior's mean and correlation, against a plain grid over [-5, 5]^2
    ticks = torch.linspace(-5, 5, 201)
    log_joint = likelihood.log_joint_grid(model, x, ticks, ticks)
    w = torch.softmax(log_joint.flatten(), 0).reshape(201, 201)
    zz2, zz1 = torch.meshgrid(ticks, ticks, indexing="ij")
    mean = torch.stack([(w * zz1).sum(), (w * zz2).sum()])
    assert torch.allclose(view.mean, mean, atol=0.02)
    assert -1 <= view.corr <= 1
    assert view.apart(view.mean, torch.zeros(2)) == pytest.approx(0.0, abs=1e-6)
    moved = view.mean + torch.tensor([3.0, 4.0])
    assert view.apart(moved, torch.zeros(2)) == pytest.approx(5.0, abs=1e-4)
    assert view.log_reach("far") < math.log(1e-3)  # the far Gaussian seldom lands near the peak
    centred = likelihood.posterior_view(model, x, {"on": (view.mean, torch.zeros(2))}, n=60)
    assert math.log(0.05) < centred.log_reach("on") <= 0
