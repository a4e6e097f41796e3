"""The widgets wired to the pure functions behind them (vae_course.interactive.widgets), no browser.

The pure functions have their own tests: test_explorers.py, test_raster.py and, for the
concept questions, test_questions.py.
"""

import base64
from dataclasses import replace

import numpy as np
import pytest
import torch

from vae_course.interactive import explorers as ex
from vae_course.interactive import raster, widgets
from vae_course.models import VAE, ModelConfig

from .helpers import png_pixels


def assert_static_picture(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle[widgets.WIDGET_VIEW]["model_id"] == explorer.widget.model_id
    assert base64.b64decode(bundle["image/png"]) == explorer.picture
    assert png_pixels(explorer.picture).ndim == 3 and "run the notebook" in bundle["text/plain"]


def test_latent_explorer_slider_decodes_the_chosen_point(models, images):
    x, y = images
    explorer = widgets.latent_explorer(models, x, y)
    assert set(explorer.controls) == {"AE z1", "AE z2", "VAE z1", "VAE z2"}
    assert_static_picture(explorer)
    z1, z2, image = explorer.controls["VAE z1"], explorer.controls["VAE z2"], explorer.images["VAE"]
    ae_before = explorer.images["AE"].value
    z1.value, z2.value = z1.min, z2.max
    expected = ex.decode_point(models["VAE"].decode, [z1.value, z2.value])
    np.testing.assert_array_equal(png_pixels(image.value), raster.digit_pixels(expected))
    assert explorer.images["AE"].value == ae_before  # each model has its own sliders


def test_latent_explorer_of_a_larger_latent_moves_along_two_directions(images):
    x, y = images
    torch.manual_seed(0)
    vae = VAE(ModelConfig(hidden=(16,), latent_dim=5)).eval()
    explorer = widgets.latent_explorer(vae, x, y, directions=(1, 3))
    a, b = explorer.controls["a"], explorer.controls["b"]
    a.value, b.value = a.max, b.min
    z = np.zeros(5, np.float32)
    z[1], z[3] = a.value, b.value
    expected = raster.digit_pixels(ex.decode_point(vae.decode, z))
    np.testing.assert_array_equal(png_pixels(explorer.images[""].value), expected)


def test_interpolation_explorer_follows_t_and_the_chosen_images(models, images):
    x, y = images
    explorer = widgets.interpolation_explorer(x, models, y, first=2, second=7, steps=5)
    assert_static_picture(explorer)
    explorer.controls["t"].value = 0.0
    np.testing.assert_array_equal(png_pixels(explorer.images["pixels"].value),
                                  raster.digit_pixels(x[2].reshape(28, 28).numpy(), scale=5))
    before = explorer.images["VAE"].value
    explorer.controls["first"].value = 3
    assert explorer.images["VAE"].value != before
    frame = ex.interpolation_frames(x[3], x[7], 0.0, models)["VAE"]
    np.testing.assert_array_equal(png_pixels(explorer.images["VAE"].value),
                                  raster.digit_pixels(frame, scale=5))


def test_beta_explorer_slider_swaps_the_model(images):
    x, y = images
    torch.manual_seed(0)
    models = {0.5: VAE(ModelConfig(hidden=(16,), latent_dim=2)).eval(),
              4.0: VAE(ModelConfig(hidden=(16,), latent_dim=3)).eval()}
    explorer = widgets.beta_explorer(models, x, y, n_samples=4)
    assert_static_picture(explorer)
    slider, image = explorer.controls["beta"], explorer.images["summary"]
    first = image.value
    assert first == explorer.picture
    slider.value = 4.0
    assert image.value != first
    readout = explorer.widget.children[1].value
    kl = ex.beta_summary(models[4.0], x, 4.0, 4).kl
    assert "beta = 4" in readout and f"KL {kl:.1f}" in readout
    with pytest.raises(ValueError, match="at least one model"):
        widgets.beta_explorer({}, x, y)


def test_beta_figure_names_principal_directions_and_shows_every_code(images):
    x, y = images
    torch.manual_seed(0)
    small = VAE(ModelConfig(hidden=(16,), latent_dim=2)).eval()
    large = VAE(ModelConfig(hidden=(16,), latent_dim=5)).eval()
    summaries = [ex.beta_summary(m, x, b, 4) for b, m in ((0.5, small), (4.0, large))]
    far = replace(summaries[1], codes=summaries[1].codes * 50)  # codes far beyond the prior
    fig = widgets._beta_figure(far, summaries, y, None)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC 1", "PC 2")  # not z_1, z_2: a projection
    coords = np.abs(ex.latent_plane(far.codes).coords)
    assert ax.get_xlim()[1] >= coords[:, 0].max() and ax.get_ylim()[1] >= coords[:, 1].max()
    assert -ax.get_xlim()[0] >= coords[:, 0].max() and -ax.get_ylim()[0] >= coords[:, 1].max()
    plain = widgets._beta_figure(summaries[0], summaries, y, None).axes[0]
    assert (plain.get_xlabel(), plain.get_ylabel()) == ("$z_1$", "$z_2$")  # a 2-D latent: its axes


def test_reparam_sampler_redraws_when_mu_moves():
    explorer = widgets.reparam_sampler(n=200)
    assert_static_picture(explorer)
    image = explorer.images["samples"]
    first = image.value
    explorer.controls["mu"].value = 2.0
    moved = image.value
    assert moved != first
    explorer.controls["mu"].value = 0.0
    assert image.value == first  # the same eps: back where it started
