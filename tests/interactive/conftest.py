"""Small models and images shared by the tests of the explorers and of the widgets."""

import pytest
import torch

from vae_course.models import VAE, Autoencoder, ModelConfig


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    small = ModelConfig(hidden=(16,), latent_dim=2)
    return {"AE": Autoencoder(small).eval(), "VAE": VAE(small).eval()}


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(1)
    return torch.rand(300, 784, generator=g), torch.randint(0, 10, (300,), generator=g)
