"""Measures of what a model learned (vae_course.measures): latent space for generation, and
what an autoencoder learned (non-digit images, pixel error, error off the codes)."""

import torch

from vae_course import data, measures, zoo
from vae_course.models import Autoencoder, ModelConfig


def test_nearest_distances_by_hand():
    ref = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    pts = torch.tensor([[1.0, 0.0], [7.0, 4.0]])
    assert torch.allclose(measures.nearest_distances(pts, ref), torch.tensor([1.0, 5.0]))


def test_typical_spacing_excludes_the_point_itself():
    codes = torch.tensor([[float(i), 0.0] for i in range(10)])
    assert measures.typical_spacing(codes, n=10) == 1.0


def test_distance_ratio_is_about_one_for_samples_from_the_data_distribution():
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(5000, 2, generator=g)
    same = torch.randn(1000, 2, generator=g)
    far = same * 10
    assert 0.5 < measures.distance_ratio(same, codes) < 2
    assert measures.distance_ratio(far, codes) > 10


def test_classifier_recognises_real_digits_not_noise(tmp_path):
    clf, _ = zoo.load("classifier", cache=tmp_path)  # on the GPU where there is one
    x, y = data.load("test")
    acc = (measures.predict(clf, x) == y).float().mean().item()
    assert acc > 0.95
    assert measures.confident_share(clf, x) > 0.9
    noise = torch.rand(1000, 784, generator=torch.Generator().manual_seed(0))
    assert measures.confident_share(clf, noise) < measures.confident_share(clf, x)


def digits(n=6):
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(0))


def test_non_digits_are_images_inside_the_central_square():
    made = measures.non_digits(digits())
    assert set(made) == {"strokes", "blobs", "inverted", "noise"}
    for name, x in made.items():
        assert x.shape == (6, 784) and x.min() >= 0 and x.max() <= 1, name
        square = x.reshape(6, 28, 28)
        border = square.sum() - square[:, 4:24, 4:24].sum()
        assert border == 0, f"{name} has ink outside the central 20 x 20 pixels"
        assert (x.sum(dim=1) > 0).all(), f"{name}: an empty image"
    assert torch.equal(made["strokes"], measures.non_digits(digits())["strokes"])  # seeded
    inverted = made["inverted"].reshape(6, 28, 28)[:, 4:24, 4:24]
    assert torch.allclose(inverted, 1 - digits().reshape(6, 28, 28)[:, 4:24, 4:24])


class Copier(torch.nn.Module):
    """Logits that make sigmoid(logits) equal to x (clamped away from 0 and 1)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.logit(x.clamp(1e-4, 1 - 1e-4)) + self.w


def test_pixel_error_is_zero_for_a_copier_and_a_quarter_for_grey_on_black_and_white():
    x = torch.bernoulli(torch.full((10, 784), 0.5), generator=torch.Generator().manual_seed(1))
    assert measures.pixel_error(Copier(), x) < 1e-6
    grey = Autoencoder(ModelConfig(hidden=(8,), latent_dim=2))
    for p in grey.parameters():
        torch.nn.init.zeros_(p)  # logits 0: every pixel 0.5
    assert abs(measures.pixel_error(grey, x) - 0.25) < 1e-6


def test_off_code_error_starts_at_the_reconstruction_and_uses_the_distance():
    model = Autoencoder(ModelConfig(hidden=(16,), latent_dim=2)).eval()
    x = digits(20)
    with torch.no_grad():
        z = model.encode(x)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(
            model.decode(z), x, reduction="none").sum(dim=1).mean().item()
    curve = measures.off_code_error(model.decode, z, x, [0.0, 0.5, 50.0])
    assert abs(curve[0] - recon) < 1e-4
    assert curve[2] != curve[1] != curve[0]
    assert curve == measures.off_code_error(model.decode, z, x, [0.0, 0.5, 50.0])  # seeded


def test_sharpness_by_hand_and_against_a_blur():
    stripes = torch.zeros(1, 28, 28)
    stripes[:, :, ::2] = 1  # vertical stripes: every horizontal neighbour differs by 1
    assert torch.allclose(measures.sharpness(stripes.reshape(1, 784)), torch.tensor([0.5]))
    assert measures.sharpness(torch.full((2, 784), 0.3)).tolist() == [0.0, 0.0]  # flat images
    x = torch.bernoulli(torch.full((4, 1, 28, 28), 0.3), generator=torch.Generator().manual_seed(0))
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert measures.sharpness(x).shape == (4,)  # (N, 1, 28, 28) is accepted as well
    assert (measures.sharpness(blurred) < measures.sharpness(x)).all()
