import pytest
import torch

from vae_course.models import (VAE, Autoencoder, DigitClassifier, MeanDecodedVAE, ModelConfig,
                               device_of)


def test_reference_vae_shapes_and_sizes():
    m = VAE(ModelConfig(hidden=(400,), latent_dim=20))
    x = torch.rand(5, 784)
    logits, mu, logvar = m(x)
    assert logits.shape == (5, 784) and mu.shape == (5, 20) and logvar.shape == (5, 20)
    # 784-400-20 (two heads) and 20-400-784, as in the PyTorch example
    n = sum(p.numel() for p in m.parameters())
    assert n == (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)


def test_images_and_flat_inputs_agree():
    m = Autoencoder(latent_dim=3)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(m(x), m(x.reshape(4, 784)))
    with pytest.raises(ValueError, match="784"):
        m(torch.rand(4, 100))


def test_reparameterize_statistics_and_gradients():
    m = VAE(latent_dim=2)
    torch.manual_seed(0)
    mu = torch.full((20000, 2), 1.5, requires_grad=True)
    logvar = torch.full((20000, 2), -1.0, requires_grad=True)
    z = m.reparameterize(mu, logvar)
    assert abs(z.mean().item() - 1.5) < 0.02
    assert abs(z.std().item() - torch.exp(torch.tensor(-0.5)).item()) < 0.02
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_decoder_returns_logits_not_probabilities():
    m = Autoencoder(latent_dim=2)
    with torch.no_grad():
        for p in m.decoder.parameters():
            p.fill_(1.0)
    out = m.decode(torch.ones(1, 2))
    assert out.max() > 1.0  # a sigmoid output could never exceed 1


def test_config_validation():
    with pytest.raises(ValueError):
        ModelConfig(latent_dim=0)
    assert DigitClassifier()(torch.rand(3, 784)).shape == (3, 10)
    assert DigitClassifier(hidden=(16,)).config.hidden == (16,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda():
    m = VAE(latent_dim=2).cuda()
    logits, mu, logvar = m(torch.rand(3, 784, device="cuda"))
    assert logits.is_cuda


def test_device_of_a_model_its_bound_methods_and_a_plain_function():
    m = VAE(latent_dim=2).to("meta")
    assert device_of(m) == device_of(m.decode) == torch.device("meta")
    assert device_of(lambda z: z) == torch.device("cpu")
    assert device_of(torch.nn.Identity()) == torch.device("cpu")  # no parameters
    assert device_of(torch.nn.BatchNorm1d(2, affine=False).to("meta")).type == "meta"  # buffers


def test_the_mean_decoded_vae_decodes_mu_and_keeps_the_vae_loss():
    torch.manual_seed(0)
    model = MeanDecodedVAE(ModelConfig(hidden=(16,), latent_dim=2))
    x = torch.rand(5, 784)
    logits, mu, logvar = model(x)
    assert torch.equal(logits, model.decode(mu))  # no noise
    assert torch.equal(model(x)[0], logits)  # the same every time
    assert isinstance(model, VAE)
