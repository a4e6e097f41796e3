"""The checker of notebook 07 (vae_course/checks/conditional.py): its test data, and hints
that name the network whose input is wrong.
"""

import pytest
import torch
import torch.nn.functional as F

from vae_course import checks
from vae_course.checks import conditional as cond_checks

from .cases import COPIED, Cases


def reference(model, x, y):
    y_onehot = F.one_hot(y, model.config.n_classes).float()  # (B, n_classes)
    h = model.encoder(torch.cat([x, y_onehot], dim=1))
    mu, logvar = model.to_mu(h), model.to_logvar(h)
    z = model.reparameterize(mu, logvar)
    return model.decoder(torch.cat([z, y_onehot], dim=1)), mu, logvar


def variant(enc=lambda x, oh, y: torch.cat([x, oh], dim=1),
            dec=lambda z, oh, y: torch.cat([z, oh], dim=1),
            label=lambda model, y: F.one_hot(y, model.config.n_classes).float(),
            sample=lambda model, mu, logvar: model.reparameterize(mu, logvar),
            out=lambda logits, mu, logvar: (logits, mu, logvar)):
    """The forward pass with one of its pieces replaced."""
    def cvae_forward(model, x, y):
        oh = label(model, y)
        h = model.encoder(enc(x, oh, y))
        mu, logvar = model.to_mu(h), model.to_logvar(h)
        z = sample(model, mu, logvar)
        return out(model.decoder(dec(z, oh, y)), mu, logvar)
    return cvae_forward


def _plain(v, oh, y):
    return torch.cat([v, y[:, None].float()], dim=1)


def _eye_and_own_reparameterization(model, x, y):
    oh = torch.eye(model.config.n_classes)[y]
    h = model.encoder(torch.cat((x, oh), -1))
    mu, logvar = model.to_mu(h), model.to_logvar(h)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    return model.decoder(torch.cat((z, oh), -1)), mu, logvar


CVAE_FORWARD = Cases(
    reference=reference,
    wrong={
        # the label as a plain integer
        "label as a number in the encoder": (variant(enc=_plain),
                                             "into the encoder as a plain number"),
        "label as a number in the decoder": (variant(dec=_plain),
                                             "into the decoder as a plain number"),
        "label as a number everywhere": (variant(label=lambda m, y: y[:, None].float()),
                                         "into the encoder as a plain number"),
        "1-D label joined as it is": (variant(label=lambda m, y: y),
                                      "1-D tensor next to a 2-D one"),
        # one-hot of the wrong width
        "one_hot without num_classes": (variant(label=lambda m, y: F.one_hot(y).float()),
                                        "counts only up to the largest label"),
        "one_hot of width 9": (variant(label=lambda m, y: F.one_hot(y, 9).float()),
                               "has 9 columns instead of 10"),
        "one_hot of width 11": (variant(label=lambda m, y: F.one_hot(y, 11).float()),
                                "has 11 columns instead of 10"),
        "one_hot width hard-coded to 10": (variant(label=lambda m, y: F.one_hot(y, 10).float()),
                                           "model.config.n_classes rather than writing 10"),
        # the label forgotten
        "label missing in the encoder": (variant(enc=lambda x, oh, y: x),
                                         "label is missing from the encoder's input"),
        "label missing in the decoder": (variant(dec=lambda z, oh, y: z),
                                         "label is missing from the decoder's input"),
        # the wrong dimension
        "cat on dim 0 in the encoder": (variant(enc=lambda x, oh, y: torch.cat([x, oh])),
                                        "along dimension 0"),
        "cat on dim 0 in the decoder": (variant(dec=lambda z, oh, y: torch.cat([z, oh], dim=0)),
                                        "along dimension 0"),
        "one-hot transposed": (variant(label=lambda m, y: F.one_hot(
            y, m.config.n_classes).float().T), "not (n_classes, B)"),
        "stacked into 3-D": (variant(enc=lambda x, oh, y: torch.stack([x[:, :10], oh], dim=1)),
                             "one 2-D tensor"),
        # right widths, wrong content
        "label before the image": (variant(enc=lambda x, oh, y: torch.cat([oh, x], dim=1)),
                                   "label first and the image after it"),
        "label before z": (variant(dec=lambda z, oh, y: torch.cat([oh, z], dim=1)),
                           "label first and z after it"),
        "decoder gets another label": (variant(dec=lambda z, oh, y: torch.cat(
            [z, oh.roll(1, dims=0)], dim=1)), "with the same label as the encoder"),
        "decodes mu": (variant(sample=lambda m, mu, logvar: mu), "decoded mu itself"),
        "sigmoid on the logits": (variant(out=lambda l, mu, lv: (torch.sigmoid(l), mu, lv)),
                                  "applied a sigmoid"),
        "mu and logvar swapped": (variant(out=lambda l, mu, lv: (l, lv, mu)), "swapped"),
        "wrong order": (variant(out=lambda l, mu, lv: (mu, lv, l)), "in another order"),
        "two values": (variant(out=lambda l, mu, lv: (l, mu)), "three tensors"),
        "returns None": (lambda model, x, y: None, "returned None"),
        "the model's own forward": (lambda model, x, y: model(x, y), COPIED),
        "detached": (variant(out=lambda l, mu, lv: (l.detach(), mu.detach(), lv.detach())),
                     "carries no gradient"),
    },
    styles={
        "torch.eye one-hot, own reparameterization": _eye_and_own_reparameterization,
    },
    leaks=("torch.cat([", "F.one_hot(y,"),
)

CASES = {"cvae_forward": CVAE_FORWARD}


def test_the_exercise_of_notebook_07():
    assert [e.name for e in checks.exercises_for("07_conditional_vae")] == list(CASES)


@pytest.mark.parametrize("network", ["encoder", "decoder"])
def test_the_hint_names_the_network_that_lacks_the_label(network):
    message = cond_checks.check_cvae_forward(
        CVAE_FORWARD.wrongs()[f"label missing in the {network}"].fn).message
    other = {"encoder": "decoder", "decoder": "encoder"}[network]
    assert network in message and other not in message, message
