"""The convolutional VAE, notebook 06's models (shipped weights included) and the traversal widget."""

import hashlib
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from vae_course import losses, train
from vae_course.convolutional import ConvConfig, ConvVAE, as_images, n_parameters, traverse
from vae_course.interactive import traversal
from vae_course.models import VAE, ModelConfig, build


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
    assert isinstance(build("conv_vae", ConvConfig(channels=(4, 8))), ConvVAE)
    with pytest.raises(ValueError, match="conv_vae"):
        build("cnn", ConvConfig())
    assert ConvConfig().features == 64 * 7 * 7 and as_images(torch.rand(2, 784)).shape == (2, 1, 28, 28)


def test_the_two_16d_models_have_a_similar_parameter_count():
    _, conv_config, _ = train.FASHION_MODELS["conv16"]
    _, mlp_config, _ = train.FASHION_MODELS["mlp16"]
    conv, mlp = n_parameters(ConvVAE(conv_config)), n_parameters(VAE(mlp_config))
    assert 0.8 < conv / mlp < 1.25, (conv, mlp)


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


# ---- shipped weights -----------------------------------------------------------------

def test_every_shipped_file_is_listed_with_its_hash_and_loads_safely():
    files = sorted(p.name for p in train.WEIGHTS.glob("*.pt"))
    assert files == sorted(train.SHIPPED_SHA256)
    for name, digest in train.SHIPPED_SHA256.items():
        data = (train.WEIGHTS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        entry = torch.load(train.WEIGHTS / name, weights_only=True)
        assert set(entry) == {"key", "state_dict", "history"}
    total = sum((train.WEIGHTS / n).stat().st_size for n in files)
    assert total < 3_000_000, f"shipped weights take {total:,} bytes"


@pytest.mark.parametrize("name", list(train.FASHION_MODELS))
def test_fashion_models_come_from_the_shipped_weights_without_training(name, tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although weights ship")
    monkeypatch.setattr(train, "fit", no_training)
    model, history = train.fashion_model(name, cache=tmp_path, progress=False)
    assert history["test_loss"] and not model.training
    assert not list(tmp_path.iterdir())  # the shipped file is read, not copied


def test_damaged_shipped_weights_are_not_used(tmp_path, monkeypatch):
    name = next(iter(train.SHIPPED_SHA256))
    folder = tmp_path / "weights"
    folder.mkdir()
    damaged = bytearray((train.WEIGHTS / name).read_bytes())
    damaged[-10] ^= 0xFF
    (folder / name).write_bytes(bytes(damaged))
    monkeypatch.setattr(train, "WEIGHTS", folder)
    with pytest.warns(UserWarning, match="SHA-256"):
        assert train.shipped_entry(tmp_path / name) is None
    shutil.copy(train.__file__, tmp_path / "unrelated.pt")
    assert train.shipped_entry(tmp_path / "unrelated.pt") is None


@pytest.mark.slow
@pytest.mark.parametrize("name", list(train.FASHION_MODELS))
def test_retraining_reproduces_the_shipped_test_loss(name, tmp_path):
    """Remakes a shipped model with the same code (minutes on a CPU); the test loss must agree
    within 1.5 nats per image (the spread between machines and thread counts)."""
    _, shipped = train.fashion_model(name, cache=tmp_path / "unused", progress=False)
    _, fresh = train.fashion_model(name, cache=tmp_path, progress=False, shipped=False)
    assert abs(fresh["test_loss"][-1] - shipped["test_loss"][-1]) < 1.5


# ---- the traversal explorer ----------------------------------------------------------

def test_active_dimensions_is_the_kl_per_dimension(model):
    x = torch.rand(50, 784)
    mu, logvar = model.encode(x)
    assert torch.allclose(traversal.active_dimensions(model, x, batch_size=16),
                          losses.kl_per_dimension(mu, logvar).detach(), atol=1e-6)


def test_traversal_rows_match_traverse(model):
    x = torch.rand(784)
    rows = traversal.traversal_rows(model, x, [1, 4], span=2.0, steps=5)
    assert rows.shape == (2, 5, 784)
    assert np.allclose(rows[1], traverse(model, x, 4, torch.linspace(-2, 2, 5)).numpy())
    with pytest.raises(ValueError, match="0..4"):
        traversal.traversal_rows(model, x, [5])


def test_traversal_explorer_redraws_when_a_control_moves(model):
    x, y = torch.rand(20, 784), torch.randint(0, 10, (20,))
    explorer = traversal.traversal_explorer(model, x, y, dims=[0, 2])
    image = explorer.images["traversal"]
    assert image.value == explorer.picture
    first = image.value
    explorer.controls["span"].value = 1.0
    assert image.value != first
    after_span = image.value
    explorer.controls["dims"].value = (1,)
    assert image.value != after_span
    after_dims = image.value
    explorer.controls["image"].value = 5
    assert image.value != after_dims
    bundle = explorer._repr_mimebundle_()
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle


def test_traversal_explorer_defaults_to_the_most_active_dimensions(model):
    x = torch.rand(30, 784)
    kl = torch.tensor([0.1, 3.0, 0.0, 2.0, 1.0])
    explorer = traversal.traversal_explorer(model, x, kl=kl)
    assert explorer.controls["dims"].value == (0, 1, 3, 4)  # all but the idle z2
