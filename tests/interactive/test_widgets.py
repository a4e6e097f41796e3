"""The pure functions behind the widgets, and the wiring of the widgets to them (no browser)."""

import base64
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from vae_course.interactive import explorers as ex
from vae_course.interactive import raster, widgets
from vae_course.models import VAE, Autoencoder, ModelConfig
from vae_course.train import TrainConfig


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    small = ModelConfig(hidden=(16,), latent_dim=2)
    return {"AE": Autoencoder(small).eval(), "VAE": VAE(small).eval()}


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(1)
    return torch.rand(300, 784, generator=g), torch.randint(0, 10, (300,), generator=g)


def png_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


# ---- concept questions -------------------------------------------------------------

WHY = ["mu is computed by the encoder, not drawn.", "std is computed from logvar, not drawn.",
       "Right: eps is the only random draw."]


def make_question(feedback=WHY, predict=False):
    return widgets.concept_question("Which part is random?", ["mu", "std", "eps"], 3,
                                    "Only eps is drawn at random.", feedback, predict=predict)


def test_a_wrong_answer_explains_that_option_and_allows_another_try():
    q = make_question()
    first = q.answer(1)
    assert not first.correct and not first.revealed
    assert WHY[0] in first.text and "Try another option" in first.text
    assert "Only eps is drawn" not in first.text and "option 3" not in first.text
    second = q.answer(2)  # the second wrong try reveals the answer and the explanation
    assert not second.correct and second.revealed
    assert WHY[1] in second.text and "option 3" in second.text and "Only eps" in second.text
    right = q.answer(3)
    assert right.correct and right.text.startswith("Correct.")
    assert WHY[2] in right.text and "Only eps is drawn at random." in right.text


def test_the_right_answer_first_time_explains_at_once():
    fb = make_question().answer(3)
    assert fb.correct and fb.revealed and "Only eps" in fb.text


def test_invalid_choices_do_not_count_as_tries():
    q = make_question()
    for bad in (0, 4, "3", None):
        fb = q.answer(bad)
        assert not fb.correct and "from 1 to 3" in fb.text
    assert not q.answer(1).revealed  # still the first real try


def test_judge_is_pure():
    q = make_question()
    assert q.judge(1).text == q.judge(1).text and not q.judge(1).revealed
    assert q.judge(1, wrong_before=1).revealed
    assert q.wrong_tries == 0


def test_question_rejects_a_correct_number_out_of_range():
    with pytest.raises(ValueError, match="between 1 and 2"):
        widgets.concept_question("?", ["a", "b"], 3, "...")
    with pytest.raises(ValueError, match="at least 2 options"):
        widgets.concept_question("?", ["a"], 1, "...")


def test_question_rejects_feedback_that_does_not_match_the_options():
    with pytest.raises(ValueError, match="one line per option: 3 options but 2"):
        make_question(feedback=WHY[:2])
    with pytest.raises(ValueError, match="feedback of option 2 is empty"):
        make_question(feedback=[WHY[0], " ", WHY[2]])


def test_a_question_without_feedback_still_withholds_the_answer_once():
    q = widgets.concept_question("?", ["a", "b", "c"], 3, "Because c.")
    first = q.answer(1)
    assert "Option 1 is not the best answer" in first.text and "Because c" not in first.text


def test_question_text_fallback_lists_options_and_says_how_to_answer():
    text = repr(make_question())
    assert text.splitlines()[:4] == ["Which part is random?", "  1. mu", "  2. std", "  3. eps"]
    assert ".answer(" in text
    assert repr(make_question(predict=True)).startswith("Predict before you run the next cell:")


def test_question_static_html_folds_the_answer_away():
    page = make_question().html()
    assert "<li>eps</li>" in page
    answer = page.index("<details>")
    assert page.index("Only eps") > answer and page.index("Option 3") > answer
    assert page.index(WHY[0]) > answer  # the feedback of each option is folded away too
    assert "Predict, then run." in make_question(predict=True).html()


def test_question_check_button_gives_feedback_then_a_second_try():
    box = make_question().widget()
    _, choices, button, feedback = box.children
    button.click()
    assert "Pick an option first" in feedback.value
    choices.value = 1
    button.click()
    assert "Not yet." in feedback.value and "encoder" in feedback.value
    assert "Only eps" not in feedback.value and "vae-explanation" not in feedback.value
    choices.value = 3
    button.click()
    assert "Correct." in feedback.value and "Only eps" in feedback.value
    assert "vae-explanation" in feedback.value


def test_question_widget_reveals_after_two_wrong_tries():
    _, choices, button, feedback = make_question().widget().children
    for wrong in (1, 2):
        choices.value = wrong
        button.click()
    assert "The answer is option 3" in feedback.value and "vae-explanation" in feedback.value


def test_question_displays_as_widget_with_text_and_html():
    bundle = make_question()._repr_mimebundle_()
    assert bundle[widgets.WIDGET_VIEW]["model_id"]
    assert bundle["text/plain"].startswith("Which part is random?")
    assert "<details>" in bundle["text/html"]


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


# ---- pictures ----------------------------------------------------------------------

def test_digit_pixels_and_png_round_trip():
    p = np.zeros((28, 28), np.float32)
    p[3, 4] = 1.0
    pixels = raster.digit_pixels(p, scale=3)
    assert pixels.shape == (84, 84) and pixels.dtype == np.uint8
    assert pixels[9:12, 12:15].max() == 0 and pixels[0, 0] == 255  # ink is dark on white
    np.testing.assert_array_equal(png_pixels(raster.to_png(pixels)), pixels)


def test_side_by_side_pads_on_white():
    out = raster.side_by_side(np.zeros((4, 3), np.uint8), np.zeros((2, 5, 3), np.uint8), gap=2)
    assert out.shape == (4, 10, 3)
    assert out[:, 3:5].min() == 255 and out[2:, 5:].min() == 255 and out[:2, 5:].max() == 0


def test_marked_axes_paints_a_ring_around_the_point():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, 10), ylim=(0, 10))
    marked = raster.MarkedAxes(fig, radius=5)
    out = marked.mark(5.0, 2.5)  # pixel (100, 150) from the top left
    red = np.argwhere((out == (220, 0, 0)).all(axis=2))
    assert len(red) > 10
    np.testing.assert_allclose(red.mean(0), [150, 100], atol=1.0)
    assert np.array_equal(marked.mark(50.0, 50.0), marked.pixels)  # off the axes: nothing


# ---- widgets wired to the pure functions -------------------------------------------

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
