"""The checkers of notebook 07 (vae_course/checks/conditional.py): their test data, hints
that name the network whose input is wrong, and a test model whose own passes are off.
"""

import pytest
import torch
import torch.nn.functional as F

from vae_course import checks, conditional
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


def _encode_and_decode(model, x, y):
    mu, logvar = model.encode(x, y)
    return model.decode(model.reparameterize(mu, logvar), y), mu, logvar


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
        # the course's own passes, which do the exercise: the check's model switches them off
        "the model's own forward": (lambda model, x, y: model(x, y),
                                    "calls model(x, y), which does the pass"),
        "the model's encode and decode": (_encode_and_decode, "calls model.encode"),
        "detached": (variant(out=lambda l, mu, lv: (l.detach(), mu.detach(), lv.detach())),
                     "carries no gradient"),
    },
    styles={
        "torch.eye one-hot, own reparameterization": _eye_and_own_reparameterization,
        "the model's one_hot": variant(label=lambda m, y: m.one_hot(y)),
    },
    leaks=("torch.cat([", "F.one_hot(y,"),
)

# ---------------------------------------------------------------- redraw


def redraw_reference(model, x, y, targets):
    mu, _ = model.encode(x, y)  # (B, latent_dim): each image with its own label
    return torch.stack([torch.sigmoid(model.decode(mu, torch.full_like(y, int(t))))
                        for t in targets], dim=1)  # (B, T, 784)


def _redraw_batched(model, x, y, targets):
    """All B * T codes decoded at once under no_grad, then reshaped."""
    with torch.no_grad():
        mu, _ = model.encode(x, y)
        b, t = len(y), len(targets)
        logits = model.decode(mu.repeat_interleave(t, dim=0), targets.repeat(b))
    return torch.sigmoid(logits).reshape(b, t, -1)


def _redraw_from_networks(model, x, y, targets):
    """Through the networks and one-hot vectors, in float64, the targets as Python ints."""
    k = model.config.n_classes
    h = model.encoder(torch.cat([x, F.one_hot(y, k).float()], dim=1))
    mu = model.to_mu(h).double()
    decoder = model.decoder.double()
    out = []
    for t in targets.tolist():
        oh = F.one_hot(torch.full((len(y),), t), k).double()
        out.append(torch.sigmoid(decoder(torch.cat([mu, oh], dim=1))))
    return torch.stack(out, dim=1)


def redraw_variant(encode_label=lambda y, t: y, code=lambda model, mu, logvar: mu,
                   label=lambda y, t: torch.full_like(y, int(t)), out=torch.sigmoid,
                   stack=lambda rows: torch.stack(rows, dim=1), over=lambda targets: targets):
    """The reference with one of its pieces replaced."""
    def redraw(model, x, y, targets):
        rows = []
        for t in over(targets):
            mu, logvar = model.encode(x, encode_label(y, t))
            rows.append(out(model.decode(code(model, mu, logvar), label(y, t))))
        return stack(rows)
    return redraw


def _noisy(model, mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def _encoder_without_label(model, x, y, targets):
    mu = model.to_mu(model.encoder(x))
    return torch.stack([torch.sigmoid(model.decode(mu, torch.full_like(y, int(t))))
                        for t in targets], dim=1)


def _decoder_without_label(model, x, y, targets):
    mu, _ = model.encode(x, y)
    return torch.stack([torch.sigmoid(model.decoder(mu)) for t in targets], dim=1)


def _encode_without_label(model, x, y, targets):
    mu, _ = model.encode(x)
    return torch.stack([torch.sigmoid(model.decode(mu, t)) for t in targets], dim=1)


REDRAW = Cases(
    reference=redraw_reference,
    wrong={
        "encodes with the target": (redraw_variant(encode_label=lambda y, t: torch.full_like(
            y, int(t))), "encode each image with the target label"),
        "samples with reparameterize": (redraw_variant(
            code=lambda m, mu, lv: m.reparameterize(mu, lv)), "the code is sampled"),
        "samples with randn": (redraw_variant(code=_noisy), "the code is sampled"),
        "logits": (redraw_variant(out=lambda logits: logits), "logits, not probabilities"),
        "(T, B) order": (redraw_variant(stack=lambda rows: torch.stack(rows)), "(T, B, 784)"),
        "concatenated rows": (redraw_variant(stack=torch.cat),
                              "keep the images and the targets apart"),
        "a list": (redraw_variant(stack=lambda rows: rows), "stack them"),
        "own label decoded": (redraw_variant(label=lambda y, t: y), "its own label"),
        "0..T-1 instead of the targets": (redraw_variant(over=lambda ts: range(len(ts))),
                                          "rather than the targets"),
        "one number as the label": (redraw_variant(label=lambda y, t: int(t)), "single number"),
        "float labels": (redraw_variant(label=lambda y, t: torch.full(y.shape, float(t))),
                         "1-D tensor of integers"),
        "encode without the label": (_encode_without_label, "each need labels"),
        "the encoder without the label": (_encoder_without_label,
                                          "label is missing from the encoder's input"),
        "the decoder without the label": (_decoder_without_label,
                                          "label is missing from the decoder's input"),
        "returns None": (lambda model, x, y, targets: None, "None"),
        "the package's swap_labels": (lambda model, x, y, targets: conditional.swap_labels(
            model, x, y, targets), COPIED),
        "other slip": (redraw_variant(out=lambda logits: 0.9 * torch.sigmoid(logits)),
                       "do not match"),
    },
    styles={
        "all codes at once": _redraw_batched,
        "networks, one-hot, float64": _redraw_from_networks,
    },
    leaks=("full_like", "repeat_interleave", "torch.sigmoid(model.decode"),
)

CASES = {"cvae_forward": CVAE_FORWARD, "redraw": REDRAW}


def test_the_exercises_of_notebook_07():
    assert [e.name for e in checks.exercises_for("07_conditional_vae")] == list(CASES)


def test_redraw_is_also_judged_on_the_course_model():
    # Right on the check's small test model (3-D codes), but on the course's 2-D model it
    # redraws every image as its own digit: the classifier's verdict catches it.
    def redraw(model, x, y, targets):
        if model.config.latent_dim == 2:
            mu, _ = model.encode(x, y)
            return torch.stack([torch.sigmoid(model.decode(mu, y)) for _ in targets], dim=1)
        return redraw_reference(model, x, y, targets)

    result = cond_checks.check_redraw(redraw)
    assert result.status == "failed" and "course's conditional VAE" in result.message, result


@pytest.mark.parametrize("network", ["encoder", "decoder"])
def test_the_hint_names_the_network_that_lacks_the_label(network):
    message = cond_checks.check_cvae_forward(
        CVAE_FORWARD.wrongs()[f"label missing in the {network}"].fn).message
    other = {"encoder": "decoder", "decoder": "encoder"}[network]
    assert network in message and other not in message, message
