"""The pure functions behind the latent explorers (vae_course.interactive.explorers)."""

import math

import numpy as np
import pytest
import torch

from vae_course.interactive import explorers as ex
from vae_course.models import ModelConfig
from vae_course.train import TrainConfig


# ---- latent space ------------------------------------------------------------------

def test_decode_point_is_sigmoid_of_the_decoder(models):
    vae = models["VAE"]
    p = ex.decode_point(vae.decode, [0.5, -1.0])
    assert p.shape == (28, 28) and p.dtype == np.float32
    expected = torch.sigmoid(vae.decode(torch.tensor([[0.5, -1.0]])))[0].detach().numpy()
    np.testing.assert_allclose(p.ravel(), expected, rtol=1e-6)
    np.testing.assert_array_equal(p, ex.decode_point(vae.decode, torch.tensor([0.5, -1.0])))


def test_encode_mean_gives_z_for_an_ae_and_mu_for_a_vae(models, images):
    x, _ = images
    with torch.no_grad():
        np.testing.assert_array_equal(ex.encode_mean(models["AE"], x, batch_size=64),
                                      models["AE"].encode(x))
        np.testing.assert_array_equal(ex.encode_mean(models["VAE"], x), models["VAE"].encode(x)[0])


def test_direction_point():
    z = ex.direction_point([1, 1, 1], [1, 0, 0], [0, 0, 2], 0.5, -1.0)
    np.testing.assert_allclose(z, [1.5, 1.0, -1.0])
    with pytest.raises(ValueError, match="same shape"):
        ex.direction_point([0, 0], [1, 0, 0], [0, 1, 0], 1, 1)


def test_latent_plane_of_a_2d_latent_is_its_axes():
    codes = torch.randn(50, 2)
    plane = ex.latent_plane(codes)
    np.testing.assert_array_equal(plane.d, np.eye(2))
    np.testing.assert_allclose(plane.coords, codes.numpy())
    np.testing.assert_array_equal(plane.base, [0, 0])


def test_latent_plane_of_a_larger_latent_follows_the_spread():
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(2000, 5, generator=g) * torch.tensor([0.1, 0.1, 3.0, 0.1, 1.5])
    plane = ex.latent_plane(codes)
    np.testing.assert_allclose(plane.d @ plane.d.T, np.eye(2), atol=1e-5)
    assert abs(plane.d[0, 2]) > 0.99 and abs(plane.d[1, 4]) > 0.99  # the two widest axes
    axes = ex.latent_plane(codes, directions=(4, 1))
    np.testing.assert_allclose(axes.coords, codes.numpy()[:, [4, 1]])
    given = ex.latent_plane(codes, directions=[[2, 0, 0, 0, 0], [1, 1, 0, 0, 0]])
    np.testing.assert_allclose(given.d, [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]], atol=1e-6)
    for bad in [(1, 1), (0, 5)]:
        with pytest.raises(ValueError, match="two different axes"):
            ex.latent_plane(codes, directions=bad)
    with pytest.raises(ValueError, match=r"shape \(2, 5\)"):
        ex.latent_plane(codes, directions=np.ones((3, 5)))


# ---- interpolation -----------------------------------------------------------------

def test_interpolate_linear_and_spherical():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    for spherical in (False, True):
        torch.testing.assert_close(ex.interpolate(z0, z1, 0.0, spherical), z0)
        torch.testing.assert_close(ex.interpolate(z0, z1, 1.0, spherical), z1)
    torch.testing.assert_close(ex.interpolate(z0, z1, 0.5), torch.tensor([0.5, 0.5]))
    half = torch.tensor([1.0, 1.0]) / math.sqrt(2)
    torch.testing.assert_close(ex.interpolate(z0, z1, 0.5, spherical=True), half)
    torch.testing.assert_close(ex.interpolate(z0, 2 * z0, 0.5, spherical=True), 1.5 * z0)


def test_interpolation_frames_start_and_end_at_the_images(models, images):
    x, _ = images
    start = ex.interpolation_frames(x[0], x[1], 0.0, models)
    assert list(start) == ["pixels", "AE", "VAE"]
    np.testing.assert_allclose(start["pixels"], x[0].reshape(28, 28).numpy())
    z0 = ex.encode_mean(models["VAE"], x[:1])[0]
    np.testing.assert_allclose(start["VAE"], ex.decode_point(models["VAE"].decode, z0), rtol=1e-5)
    end = ex.interpolation_frames(x[0], x[1], 1.0, models)
    np.testing.assert_allclose(end["pixels"], x[1].reshape(28, 28).numpy(), rtol=1e-6)
    middle = ex.interpolation_frames(x[0], x[1], 0.5, models)["pixels"]
    np.testing.assert_allclose(middle, (x[0] + x[1]).reshape(28, 28).numpy() / 2, rtol=1e-6)


# ---- reparameterization and beta ---------------------------------------------------

def test_reparam_samples_shift_and_stretch_the_same_noise():
    eps = ex.reparam_samples(0.0, 0.0, n=500, seed=3)
    np.testing.assert_allclose(ex.reparam_samples(2.0, 0.0, n=500, seed=3), eps + 2.0, rtol=1e-6)
    np.testing.assert_allclose(ex.reparam_samples(0.0, 2 * math.log(3), n=500, seed=3), 3 * eps,
                               rtol=1e-5)
    assert not np.allclose(ex.reparam_samples(0.0, 0.0, n=500, seed=4), eps)
    many = ex.reparam_samples(1.0, math.log(0.25), n=20000)
    assert abs(many.mean() - 1.0) < 0.02 and abs(many.std() - 0.5) < 0.02


def test_beta_summary_matches_evaluate(models, images):
    from vae_course.train import evaluate

    x, _ = images
    s = ex.beta_summary(models["VAE"], x, beta=2.0, n_samples=9, seed=1)
    parts = evaluate(models["VAE"], x, beta=2.0, seed=1)
    assert (s.recon, s.kl, s.beta) == (parts["recon"], parts["kl"], 2.0)
    assert s.codes.shape == (300, 2) and s.samples.shape == (9, 784)
    assert 0 <= s.samples.min() and s.samples.max() <= 1


def test_beta_models_trains_one_cached_model_per_beta(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    small = ModelConfig(hidden=(8,), latent_dim=2)
    quick = TrainConfig(epochs=1, batch_size=256, train_size=512)
    trained = ex.beta_models([0, 3], quick, small, progress=False)
    assert list(trained) == [0.0, 3.0]
    assert len(list(tmp_path.glob("vae-*.pt"))) == 2
    assert not torch.equal(next(trained[0.0].parameters()), next(trained[3.0].parameters()))

    def no_training(*args, **kwargs):
        raise AssertionError("beta_models trained a model that is in the cache")

    monkeypatch.setattr("vae_course.train.fit", no_training)
    again = ex.beta_models([3], quick, small, progress=False)
    for a, b in zip(trained[3.0].parameters(), again[3.0].parameters()):
        torch.testing.assert_close(a, b)
