"""Interactive pieces for the notebooks, each a thin ipywidgets layer over a pure function.

* :func:`concept_question` - multiple choice with an explanation once answered;
* :func:`latent_explorer` - sliders choose z, the decoded image follows;
* :func:`interpolation_explorer` - between two test digits, in pixels and in latent spaces;
* :func:`beta_explorer` - a slider over VAEs trained with different beta;
* :func:`reparam_sampler` - samples z = mu + std * eps as mu and logvar move.

The pure functions they call live in :mod:`vae_course.interactive.explorers` and
:mod:`vae_course.interactive.questions`; tests call those without a browser. Every widget
carries a static picture (or text) of its first state, which is what a page that
cannot run widgets (GitHub, nbviewer, a PDF) shows in its place.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import ipywidgets as w
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import plots
from .explorers import (beta_summary, decode_point, direction_point, encode_mean,
                        interpolation_frames, latent_plane, reparam_samples)
from .questions import WIDGET_VIEW, ConceptQuestion, Feedback, concept_question
from .raster import MarkedAxes, digit_pixels, figure_pixels, side_by_side, to_png

__all__ = ["ConceptQuestion", "Explorer", "Feedback", "beta_explorer", "concept_question",
           "interpolation_explorer", "latent_explorer", "reparam_sampler"]


@dataclass
class Explorer:
    """A live widget together with a static PNG picture of its first state.

    As a cell's value it shows as the widget where widgets run and as the picture
    elsewhere. ``controls`` and ``images`` name its sliders and image widgets, so code
    (and tests) can move one and read the other.
    """

    widget: object
    picture: bytes  # PNG
    text: str
    controls: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)

    def __post_init__(self):
        self.widget.add_class("vae-explorer")
        for image in self.images.values():  # what a slider move must change
            image.add_class("vae-output")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text,
                "image/png": base64.b64encode(self.picture).decode("ascii"),
                WIDGET_VIEW: self.widget._repr_mimebundle_()[WIDGET_VIEW]}


def _range(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(values, [0.5, 99.5])
    pad = 0.15 * (hi - lo) + 1e-3
    return float(lo - pad), float(hi + pad)


def _latent_panel(name: str, model, x, labels, directions, base, class_names):
    """One model's part of a latent explorer: (box, first picture, two sliders, decoded image)."""
    plane = latent_plane(encode_mean(model, x), directions, base)
    (a_lo, a_hi), (b_lo, b_hi) = _range(plane.coords[:, 0]), _range(plane.coords[:, 1])
    fig = Figure(figsize=(3.4, 3.4), dpi=100, layout="constrained")
    plots.latent_scatter(plane.coords, labels, ax=fig.subplots(), title=name,
                         class_names=class_names, s=1.0)
    fig.axes[0].set(xlim=(a_lo, a_hi), ylim=(b_lo, b_hi))
    if plane.d.shape[1] > 2:
        fig.axes[0].set(xlabel="a (along d1)", ylabel="b (along d2)")
    marked, decode = MarkedAxes(fig), model.decode  # decode_point moves z to its device
    names = ("z1", "z2") if plane.d.shape[1] == 2 else ("a", "b")
    a0, b0 = plane.coords.mean(0)

    def pictures(a, b):
        p = decode_point(decode, direction_point(plane.base, plane.d[0], plane.d[1], a, b))
        return marked.mark(a, b), digit_pixels(p)  # (H, W, 3), (168, 168)

    sliders = [w.FloatSlider(value=round(float(v), 2), min=round(lo, 2), max=round(hi, 2),
                             step=round((hi - lo) / 200, 3) or 0.001, description=n,
                             readout_format=".2f")
               for n, v, lo, hi in ((names[0], a0, a_lo, a_hi), (names[1], b0, b_lo, b_hi))]
    scatter_img, decoded_pic = pictures(sliders[0].value, sliders[1].value)
    scatter = w.Image(value=to_png(scatter_img), format="png")
    decoded = w.Image(value=to_png(decoded_pic), format="png")

    def update(_=None):
        scatter_pic, digit_pic = pictures(sliders[0].value, sliders[1].value)
        decoded.value, scatter.value = to_png(digit_pic), to_png(scatter_pic)

    for s in sliders:
        s.observe(update, names="value")
    box = w.VBox([w.HBox([scatter, decoded], layout=w.Layout(align_items="center")), *sliders])
    box.add_class("vae-latent-explorer")
    return box, side_by_side(scatter_img, decoded_pic), sliders, decoded


def latent_explorer(models, x: torch.Tensor, labels: torch.Tensor | None = None, *,
                    directions=None, base=None, class_names=None) -> Explorer:
    """Two sliders choose a latent point; its decoded image and its place on the scatter follow.

    Args:
        models: a trained model, or ``{"AE": ae, "VAE": vae}`` to compare them side by side.
        x (Tensor): images (N, 784) whose codes are drawn (a few thousand are plenty).
        labels (Tensor): their classes (N,), to colour the scatter.
        directions, base: for a latent with more than 2 dimensions, the sliders move
            ``z = base + a * d1 + b * d2``; see :func:`vae_course.interactive.explorers.latent_plane`.

    Returns:
        :class:`Explorer` with ``controls`` ``"<name> z1"``/``"<name> z2"`` (``a``/``b``
        beyond 2-D) and ``images`` ``"<name>"`` (the decoded image).
    """
    models = models if isinstance(models, dict) else {"": models}
    boxes, pictures, controls, images = [], [], {}, {}
    for name, model in models.items():
        box, picture, sliders, decoded = _latent_panel(name, model, x, labels, directions,
                                                      base, class_names)
        boxes.append(box)
        pictures.append(picture)
        controls.update({f"{name} {s.description}".strip(): s for s in sliders})
        images[name] = decoded
    label = " and ".join(n for n in models if n) or "model"
    return Explorer(w.HBox(boxes), to_png(side_by_side(*pictures, gap=16)),
                    f"Latent explorer ({label}): run the notebook to move the sliders.",
                    controls, images)


def interpolation_explorer(x: torch.Tensor, models: dict[str, torch.nn.Module],
                           labels: torch.Tensor | None = None, *, first: int = 0, second: int = 1,
                           spherical: bool = False, steps: int = 9) -> Explorer:
    """A slider moves from one test digit to another in pixel space and in each latent space.

    Args:
        x (Tensor): the images to pick from (N, 784).
        models: name -> model, e.g. ``{"AE": ae, "VAE": vae}``.
        labels (Tensor): classes (N,), shown next to the chosen numbers.
        first, second (int): the two images it starts with.
        spherical (bool): slerp instead of a straight line in latent space.
        steps (int): columns of the static picture.

    Returns:
        :class:`Explorer` with ``controls`` ``"t"``, ``"first"``, ``"second"``.
    """
    def frames(i, j, t):
        return interpolation_frames(x[i], x[j], t, models, spherical)

    t = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.02, description="t",
                      readout_format=".2f")
    picks = {name: w.BoundedIntText(value=v, min=0, max=len(x) - 1, description=f"{name} image",
                                    layout=w.Layout(width="220px"))
             for name, v in (("first", first), ("second", second))}
    names = ["pixels", *models]
    images = {n: w.Image(format="png") for n in names}
    caption = w.HTML()

    def update(_=None):
        i, j = picks["first"].value, picks["second"].value
        for name, frame in frames(i, j, t.value).items():
            images[name].value = to_png(digit_pixels(frame, scale=5))
        if labels is not None:
            caption.value = (f"from image {i} (a {int(labels[i])}) to image {j} "
                             f"(a {int(labels[j])}), t = {t.value:.2f}")

    update()
    for control in (t, *picks.values()):
        control.observe(update, names="value")
    columns = [w.VBox([w.HTML(f"<b>{n}</b>"), images[n]]) for n in names]
    box = w.VBox([caption, w.HBox(columns), t, w.HBox(list(picks.values()))])
    box.add_class("vae-interpolation-explorer")
    ts = np.linspace(0, 1, steps)
    rows = {n: torch.tensor(np.stack([frames(first, second, s)[n].ravel() for s in ts]))
            for n in names}  # name -> (steps, 784)
    fig = plots.interpolation_strip(rows, title=f"image {first} to image {second}")
    return Explorer(box, to_png(figure_pixels(fig)),
                    f"Interpolation explorer ({', '.join(names)}): run the notebook to move t.",
                    {"t": t, **picks}, images)


def _beta_figure(s, all_summaries, labels, class_names) -> Figure:
    """One model of the beta explorer: its codes, decoded prior samples and the loss split."""
    fig = Figure(figsize=(10, 3.4), dpi=90, layout="constrained")
    ax_z, ax_x, ax_kl = fig.subplots(1, 3, width_ratios=[1, 1, 1.1])
    projected = s.codes.shape[1] > 2  # drawn on their two principal directions, not on z_1, z_2
    codes = latent_plane(s.codes).coords if projected else s.codes
    plots.latent_scatter(codes, labels, ax=ax_z, title=f"codes (beta = {s.beta:g})",
                         class_names=class_names, s=1.0)
    if projected:
        ax_z.set(xlabel="PC 1", ylabel="PC 2")
    lim = max(3.0, 1.05 * float(np.abs(codes).max()))  # every code in view, the far ones too
    ax_z.set(xlim=(-lim, lim), ylim=(-lim, lim))
    side = int(np.ceil(np.sqrt(len(s.samples))))
    plots.image_grid(torch.tensor(s.samples), nrow=side, ax=ax_x, title="decoded z ~ N(0, I)")
    betas = [f"{o.beta:g}" for o in all_summaries]
    pos = np.arange(len(betas))
    for k, (key, colour) in enumerate((("recon", "tab:blue"), ("kl", "tab:orange"))):
        values = [getattr(o, key) for o in all_summaries]
        alphas = [1.0 if o.beta == s.beta else 0.35 for o in all_summaries]
        for p, v, a in zip(pos, values, alphas):
            ax_kl.bar(p + (k - 0.5) * 0.4, v, 0.4, color=colour, alpha=a,
                      label=key if p == 0 else None)
    ax_kl.set(xticks=pos, xticklabels=betas, xlabel="beta", ylabel="nats per image",
              title="reconstruction and KL")
    ax_kl.legend()
    return fig


def _beta_picture(s, all_summaries, labels, class_names) -> np.ndarray:
    return figure_pixels(_beta_figure(s, all_summaries, labels, class_names))


def beta_explorer(models: dict[float, torch.nn.Module], x: torch.Tensor,
                  labels: torch.Tensor | None = None, *, n_samples: int = 16, seed: int = 0,
                  class_names=None) -> Explorer:
    """A slider over VAEs trained with different beta: their codes, samples and loss split.

    Args:
        models: ``{beta: trained VAE}``, e.g. from :func:`vae_course.interactive.explorers.beta_models`.
        x (Tensor): images (N, 784) to encode and measure on (a few thousand test images).
        labels (Tensor): their classes, to colour the codes.
        n_samples (int): prior samples decoded per model.

    Returns:
        :class:`Explorer` with ``controls`` ``"beta"`` and ``images`` ``"summary"``.
    """
    if not models:
        raise ValueError("beta_explorer needs at least one model: pass {beta: model, ...}")
    summaries = [beta_summary(m, x, b, n_samples, seed) for b, m in models.items()]
    pngs = {s.beta: to_png(_beta_picture(s, summaries, labels, class_names)) for s in summaries}
    slider = w.SelectionSlider(options=[(f"{s.beta:g}", s.beta) for s in summaries],
                               value=summaries[0].beta, description="beta")
    image = w.Image(value=pngs[summaries[0].beta], format="png")
    readout = w.HTML()

    def update(_=None):
        s = next(o for o in summaries if o.beta == slider.value)
        image.value = pngs[s.beta]
        readout.value = (f"beta = {s.beta:g}: reconstruction {s.recon:.1f} and KL {s.kl:.1f} "
                         f"nats per image")

    update()
    slider.observe(update, names="value")
    box = w.VBox([slider, readout, image])
    box.add_class("vae-beta-explorer")
    return Explorer(box, pngs[summaries[0].beta],
                    "Beta explorer: run the notebook to move between the models.",
                    {"beta": slider}, {"summary": image})


class _ReparamPicture:
    """One figure whose artists move with mu and logvar (drawing anew each time is slower)."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.fig = Figure(figsize=(6, 3), dpi=90)
        self.fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.9)
        ax = self.ax = self.fig.subplots()
        self.grid = np.linspace(-8, 8, 400)
        self.bins = np.linspace(-8, 8, 81)
        self.hist = ax.stairs(np.zeros(80), self.bins, fill=True, alpha=0.5,
                              label=f"{n} samples of z")
        self.density, = ax.plot(self.grid, self.grid * 0, color="tab:blue", label="N(mu, std$^2$)")
        ax.plot(self.grid, np.exp(-0.5 * self.grid ** 2) / np.sqrt(2 * np.pi), "k--", lw=1,
                label="N(0, 1)")
        self.rug, = ax.plot([], [], "|", color="tab:blue", ms=8)
        ax.set(xlim=(-8, 8), xlabel="z")
        ax.legend(loc="upper left", fontsize="small")

    def draw(self, mu: float, logvar: float) -> np.ndarray:
        z = reparam_samples(mu, logvar, self.n, self.seed)  # (n,)
        std = float(np.exp(0.5 * logvar))
        peak = 1 / (std * np.sqrt(2 * np.pi))
        self.hist.set_data(np.histogram(z, self.bins, density=True)[0])
        self.density.set_ydata(peak * np.exp(-0.5 * ((self.grid - mu) / std) ** 2))
        self.rug.set_data(z[:100], np.full(min(self.n, 100), -0.03))
        self.ax.set_ylim(-0.06, max(0.45, 1.15 * peak))
        self.ax.set_title(f"z = mu + std * eps: mu = {mu:.2f}, std = exp(0.5 logvar) = {std:.2f}")
        return figure_pixels(self.fig)


def reparam_sampler(mu: float = 0.0, logvar: float = 0.0, *, n: int = 1000,
                    seed: int = 0) -> Explorer:
    """Sliders for ``mu`` and ``logvar``; the samples ``mu + std * eps`` and their histogram follow.

    The noise ``eps`` is drawn once (from ``seed``), so the same samples shift and
    stretch as the sliders move.

    Returns:
        :class:`Explorer` with ``controls`` ``"mu"``, ``"logvar"`` and ``images`` ``"samples"``.
    """
    picture = _ReparamPicture(n, seed)
    controls = {"mu": w.FloatSlider(value=mu, min=-3, max=3, step=0.1, description="mu"),
                "logvar": w.FloatSlider(value=logvar, min=-4, max=2, step=0.1,
                                        description="logvar")}
    first = to_png(picture.draw(mu, logvar))
    image = w.Image(value=first, format="png")

    def update(_=None):
        image.value = to_png(picture.draw(controls["mu"].value, controls["logvar"].value))

    for c in controls.values():
        c.observe(update, names="value")
    box = w.VBox([*controls.values(), image])
    box.add_class("vae-reparam-sampler")
    return Explorer(box, first, "Reparameterization sampler: run the notebook to move mu and "
                                "logvar.", controls, {"samples": image})
