"""The probes of notebooks 01 and 03: non-digit images, pixel error, error off the codes."""

import torch

from vae_course import probes
from vae_course.models import Autoencoder, ModelConfig


def digits(n=6):
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(0))


def test_non_digits_are_images_inside_the_central_square():
    made = probes.non_digits(digits())
    assert set(made) == {"strokes", "blobs", "inverted", "noise"}
    for name, x in made.items():
        assert x.shape == (6, 784) and x.min() >= 0 and x.max() <= 1, name
        square = x.reshape(6, 28, 28)
        border = square.sum() - square[:, 4:24, 4:24].sum()
        assert border == 0, f"{name} has ink outside the central 20 x 20 pixels"
        assert (x.sum(dim=1) > 0).all(), f"{name}: an empty image"
    assert torch.equal(made["strokes"], probes.non_digits(digits())["strokes"])  # seeded
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
    assert probes.pixel_error(Copier(), x) < 1e-6
    grey = Autoencoder(ModelConfig(hidden=(8,), latent_dim=2))
    for p in grey.parameters():
        torch.nn.init.zeros_(p)  # logits 0: every pixel 0.5
    assert abs(probes.pixel_error(grey, x) - 0.25) < 1e-6


def test_off_code_error_starts_at_the_reconstruction_and_uses_the_distance():
    model = Autoencoder(ModelConfig(hidden=(16,), latent_dim=2)).eval()
    x = digits(20)
    with torch.no_grad():
        z = model.encode(x)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(
            model.decode(z), x, reduction="none").sum(dim=1).mean().item()
    curve = probes.off_code_error(model.decode, z, x, [0.0, 0.5, 50.0])
    assert abs(curve[0] - recon) < 1e-4
    assert curve[2] != curve[1] != curve[0]
    assert curve == probes.off_code_error(model.decode, z, x, [0.0, 0.5, 50.0])  # seeded
