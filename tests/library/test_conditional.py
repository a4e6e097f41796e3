"""The conditional VAE (vae_course.conditional)."""


import pytest
import torch
import torch.nn.functional as F

from vae_course import conditional as cond
from vae_course import losses, train
from vae_course.conditional import CVAE, CVAEConfig

SMALL = CVAEConfig(hidden=(32,), latent_dim=2)
QUICK = train.TrainConfig(epochs=2, batch_size=128, lr=3e-3, train_size=4000)


def test_shapes_and_sizes():
    m = CVAE(CVAEConfig(hidden=(64,), latent_dim=3, n_classes=10))
    x, y = torch.rand(5, 784), torch.tensor([0, 9, 3, 3, 1])
    logits, mu, logvar = m(x, y)
    assert logits.shape == (5, 784) and mu.shape == (5, 3) and logvar.shape == (5, 3)
    # encoder (784 + 10)-64, two heads 64-3; decoder (3 + 10)-64-784
    n = sum(p.numel() for p in m.parameters())
    assert n == (794 * 64 + 64) + 2 * (64 * 3 + 3) + (13 * 64 + 64) + (64 * 784 + 784)


def test_one_hot_and_condition():
    y = torch.tensor([2, 0])
    assert torch.equal(cond.one_hot(y, 3), torch.tensor([[0., 0., 1.], [1., 0., 0.]]))
    v = torch.ones(2, 4)
    out = cond.condition(v, y, 3)
    assert out.shape == (2, 7) and torch.equal(out[:, :4], v) and out[0, 6] == 1
    for bad, match in ((torch.tensor([1.0, 2.0]), "integer"), (torch.tensor([[1]]), "1-D"),
                       (torch.tensor([3]), r"0\.\.2")):
        with pytest.raises(ValueError, match=match):
            cond.one_hot(bad, 3)


def test_the_label_changes_the_decoded_image_and_the_code():
    torch.manual_seed(0)
    m = CVAE(SMALL)
    z = torch.zeros(2, 2)
    a, b = m.decode(z, torch.tensor([1, 2]))
    assert not torch.allclose(a, b)
    x = torch.rand(1, 784).expand(2, -1)
    mu, _ = m.encode(x, torch.tensor([1, 2]))
    assert not torch.allclose(mu[0], mu[1])


@pytest.mark.parametrize("network, width, words", [
    ("encoder", 784, "label is missing"), ("encoder", 785, "plain number"),
    ("encoder", 792, "8 columns instead of 10"), ("decoder", 2, "label is missing"),
    ("decoder", 3, "plain number")])
def test_networks_say_what_is_wrong_with_their_input(network, width, words):
    m = CVAE(SMALL)
    with pytest.raises(ValueError, match=rf"the {network} got an input of shape \(4, {width}\)"
                                         rf".*{words}"):
        getattr(m, network)(torch.rand(4, width))


def test_forward_matches_its_pieces_and_the_loss():
    torch.manual_seed(0)
    m = CVAE(SMALL)
    x, y = torch.rand(6, 784), torch.randint(0, 10, (6,))
    torch.manual_seed(1)
    logits, mu, logvar = m(x, y)
    oh = F.one_hot(y, 10).float()
    h = m.encoder(torch.cat([x, oh], dim=1))
    assert torch.allclose(mu, m.to_mu(h)) and torch.allclose(logvar, m.to_logvar(h))
    torch.manual_seed(1)
    z = m.reparameterize(mu, logvar)
    assert torch.allclose(logits, m.decoder(torch.cat([z, oh], dim=1)))
    torch.manual_seed(1)
    parts = cond.cvae_loss(m, x, y, beta=2.0)
    assert torch.allclose(parts.loss, parts.recon + 2.0 * parts.kl)
    assert torch.allclose(parts.kl, losses.gaussian_kl(mu, logvar))


def test_generate_and_swap_labels():
    torch.manual_seed(0)
    m = CVAE(SMALL)
    z = torch.randn(3, 2)
    p = cond.generate(m, z, 4)
    assert p.shape == (3, 784) and 0 <= p.min() and p.max() <= 1
    assert torch.allclose(p, torch.sigmoid(m.decode(z, torch.full((3,), 4)).detach()))
    x, y = torch.rand(2, 784), torch.tensor([1, 7])
    out = cond.swap_labels(m, x, y, range(10))
    assert out.shape == (2, 10, 784)
    mu = cond.encode_mean(m, x, y)
    assert torch.allclose(out[:, 5], cond.generate(m, mu, 5))  # same style, label 5


def test_a_model_on_another_device_gets_its_inputs_moved():
    m = CVAE(SMALL).to("meta")
    with pytest.raises(NotImplementedError):  # reaches the meta tensors: inputs were moved
        cond.generate(m, torch.zeros(2, 2), 3).sum().item()


def test_slant_is_zero_upright_positive_leaning_right_and_negative_leaning_left():
    upright = torch.zeros(1, 28, 28)
    upright[0, 4:24, 13:15] = 1.0  # a vertical bar
    right = torch.zeros(1, 28, 28)
    for r in range(4, 24):  # the top to the right: one column per two rows going up
        c = 14 + (14 - r) // 2
        right[0, r, c:c + 2] = 1.0
    left = right.flip(dims=(2,))
    s = cond.slant(torch.cat([upright, right, left]).reshape(3, 784))
    assert s.shape == (3,) and s.dtype == torch.float64
    assert abs(s[0].item()) < 1e-9
    assert s[1].item() == pytest.approx(0.5, abs=0.05)
    assert s[2].item() == pytest.approx(-0.5, abs=0.05)
    assert torch.isfinite(cond.slant(torch.zeros(1, 784))).all()  # a blank image: no 0 / 0
