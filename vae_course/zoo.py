"""The model catalogue: every trained model the course uses, by name, and how to get it.

An entry of :data:`CATALOGUE` says what a model is (its kind and sizes) and how it is
trained (a :class:`~vae_course.train.TrainConfig`, which names the data set); together
they key its cache entry, so a model trained in one notebook is loaded at once in the
next. ``load("vae")`` returns the course's 2-D VAE, ``load("fashion-conv16")`` notebook
06's convolutional VAE, and so on. ``load_or_train`` does the same for settings that
are not in the catalogue (a notebook's sweep over ``beta`` or the code size).

Models that take minutes to train on a CPU ship in the package (``weights/``): each
file is the cache entry that ``load_or_train`` wrote for its settings, used on a cache
miss once its SHA-256 matches :data:`SHIPPED_SHA256`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from . import data as data_mod
from .conditional import CVAE, CVAEConfig, cvae_loss
from .convolutional import ConvConfig, ConvVAE
from .losses import classifier_loss
from .models import (VAE, Autoencoder, ClassifierConfig, DigitClassifier, MeanDecodedVAE,
                     ModelConfig)
from .train import TrainConfig, cache_dir, cached, fit, get_device, read_cache, set_seed

# Bump when a change to the code changes what a given configuration trains into.
CACHE_VERSION = 2  # 2: trained with fused Adam


@dataclass(frozen=True)
class Kind:
    """A kind of model: its class, and the loss ``loss(model, x, y, beta)`` of a model that
    reads the labels (None: the (V)AE loss of :func:`vae_course.losses.model_loss`)."""

    make: Callable[..., nn.Module]
    loss: Callable | None = None


KINDS: dict[str, Kind] = {
    "ae": Kind(Autoencoder),
    "vae": Kind(VAE),
    "vae_mean": Kind(MeanDecodedVAE),  # the controls of notebooks 03 and 05
    "conv_vae": Kind(ConvVAE),
    "cvae": Kind(CVAE, cvae_loss),
    "classifier": Kind(DigitClassifier, lambda model, x, y, beta: classifier_loss(model, x, y)),
}


@dataclass(frozen=True)
class Entry:
    """One trained model of the course: its kind, sizes and training (the data set included)."""

    kind: str
    model: ModelConfig | ConvConfig | CVAEConfig | ClassifierConfig
    training: TrainConfig
    about: str = ""


_COURSE_2D = ModelConfig(hidden=(256, 128), latent_dim=2)
# The autoencoder and the VAE share sizes, data, epochs, batch, learning rate and seed, so
# that comparing them compares what a VAE adds (its KL term and its sampled codes).
_COURSE_TRAINING = TrainConfig(epochs=7, batch_size=256, lr=2e-3)
_FASHION = TrainConfig(epochs=12, batch_size=128, lr=2e-3, dataset="fashion-mnist")
_CLASSIFIER = TrainConfig(epochs=3, batch_size=128, lr=2e-3)

CATALOGUE: dict[str, Entry] = {
    # The 2-D models that notebooks 01-05 and 08 share.
    "ae": Entry("ae", _COURSE_2D, _COURSE_TRAINING, "the course's autoencoder, 784-256-128-2"),
    "vae": Entry("vae", _COURSE_2D, _COURSE_TRAINING, "the course's VAE, 784-256-128-2"),
    # Notebook 06: two 16-D models of about the same number of parameters, and a 2-D one
    # (a 2-D code saturates within a few epochs: its test loss curve is flat by then).
    "fashion-conv16": Entry("conv_vae", ConvConfig(channels=(16, 32), latent_dim=16), _FASHION,
                            "notebook 06's convolutional VAE"),
    "fashion-mlp16": Entry("vae", ModelConfig(hidden=(64,), latent_dim=16), _FASHION,
                           "notebook 06's MLP VAE of about the same size"),
    "fashion-conv2": Entry("conv_vae", ConvConfig(channels=(16, 32), latent_dim=2),
                           replace(_FASHION, epochs=4), "notebook 06's 2-D convolutional VAE"),
    # Notebook 07.
    "cvae": Entry("cvae", CVAEConfig(hidden=(256, 128), latent_dim=2),
                  TrainConfig(epochs=5, batch_size=256, lr=3e-3), "the course's conditional VAE"),
    # Small classifiers that judge generated images (about 97% test accuracy on MNIST).
    "classifier": Entry("classifier", ClassifierConfig(), _CLASSIFIER, "MNIST digit classifier"),
    "fashion-classifier": Entry("classifier", ClassifierConfig(),
                                replace(_CLASSIFIER, dataset="fashion-mnist"),
                                "Fashion-MNIST classifier"),
}

WEIGHTS = Path(__file__).with_name("weights")
SHIPPED_SHA256: dict[str, str] = {
    "conv_vae-z16-6bf63fd812ea3f35.pt": "c445dae2777b301928ec99eb0aadc7ade2c7b92d773db3d251af05d89d5602bf",
    "conv_vae-z2-e0465d3a239c7f78.pt": "8bf59af3ee11e1a14cae2492097050518ea3457584085f11c628d0cb1d57d799",
    "vae-z16-279071ebe20a1746.pt": "82c734599e62dadaa73ee45030acb12a5db913f1a7e04837514d12fbf5314ab5",
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: choose one of {', '.join(map(repr, KINDS))}")
    return KINDS[kind]


def build(kind: str, config) -> nn.Module:
    """An untrained model of ``kind`` (a key of :data:`KINDS`) with sizes ``config``."""
    return _kind(kind).make(config)


def cache_key(kind: str, model_config, train_config: TrainConfig) -> dict:
    """Everything that shapes a trained model; its cache entry is stored under it."""
    return {"kind": kind, "model": model_config.as_dict(), "train": asdict(train_config),
            "version": CACHE_VERSION}


def cache_path(kind: str, model_config, train_config: TrainConfig, folder=None) -> Path:
    """The file of this model's cache entry: kind, code size and a digest of the key."""
    key = cache_key(kind, model_config, train_config)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    size = f"-z{model_config.latent_dim}" if hasattr(model_config, "latent_dim") else ""
    return cache_dir(folder) / f"{kind}{size}-{digest}.pt"


def shipped_entry(path: Path) -> Path | None:
    """The packaged weights file standing for cache entry ``path``, if one ships and checks out."""
    want = SHIPPED_SHA256.get(path.name)
    file = WEIGHTS / path.name
    if want is None or not file.is_file():
        return None
    if hashlib.sha256(file.read_bytes()).hexdigest() != want:
        warnings.warn(f"shipped weights {file} do not match their stored SHA-256 (damaged or "
                      f"replaced); training the model instead. Reinstall the course to fix it.",
                      stacklevel=3)
        return None
    return file


def _describe(kind: str, model_config) -> str:
    if hasattr(model_config, "latent_dim"):
        return f"training {kind.upper()} (z={model_config.latent_dim})"
    return f"training the {kind}"


def load_or_train(kind: str, model_config=None, train_config: TrainConfig | None = None, *,
                  device=None, cache=None, root=None, progress: bool = True,
                  shipped: bool = True) -> tuple[nn.Module, dict]:
    """Return a trained ``kind`` model and its history, from the cache if possible.

    Args:
        kind (str): a key of :data:`KINDS` ("ae", "vae", "conv_vae", "cvae", "classifier").
        model_config: sizes; defaults to ``ModelConfig()``.
        train_config (TrainConfig): data and training settings; defaults to ``TrainConfig()``.
        device: where the returned model lives (default: CUDA if available, else CPU).
        cache: cache folder (default: ``$VAE_COURSE_CACHE`` or a per-user folder).
        root: data root (default: see :func:`vae_course.data.data_root`).
        progress (bool): show a progress bar while training.
        shipped (bool): on a cache miss, use the weights shipped in the package for
            exactly these settings, if any (see :data:`SHIPPED_SHA256`).

    Returns:
        (model in eval mode, history dict as returned by :func:`vae_course.train.fit`).
    """
    spec = _kind(kind)
    model_config = model_config or ModelConfig()
    t = train_config or TrainConfig()
    key = cache_key(kind, model_config, t)
    path = cache_path(kind, model_config, t, cache)
    set_seed(t.seed)  # the initial weights depend on it
    model = spec.make(model_config)

    def train_fn(model):
        x_train, y_train = data_mod.load("train", t.dataset, root=root)
        x_test, y_test = data_mod.load("test", t.dataset, root=root)
        x_train = x_train if t.train_size is None else x_train[: t.train_size]
        labels = {}  # a model that reads the label: pass labels and its loss to fit
        if spec.loss is not None:
            labels = {"y_train": y_train[: len(x_train)], "y_test": y_test,
                      "loss_fn": lambda m, xb, yb: spec.loss(m, xb, yb, t.beta)}
        return fit(model, x_train, epochs=t.epochs, batch_size=t.batch_size, lr=t.lr,
                   beta=t.beta, seed=t.seed, x_test=x_test, progress=progress,
                   desc=_describe(kind, model_config), **labels)

    packaged = shipped_entry(path) if shipped and not path.exists() else None
    history = None if packaged is None else read_cache(packaged, model, key)
    if history is not None:
        return model.to(get_device(device)).eval(), history
    return cached(model, key, path, train_fn, get_device(device))


def load(name: str, *, device=None, cache=None, root=None, progress: bool = True,
         shipped: bool = True) -> tuple[nn.Module, dict]:
    """The catalogue's model ``name`` (a key of :data:`CATALOGUE`): shipped, cached or trained.

    Returns:
        (model in eval mode on ``device``, its training history).
    """
    if name not in CATALOGUE:
        raise ValueError(f"no model {name!r} in the course's catalogue: choose one of "
                         f"{', '.join(map(repr, CATALOGUE))}")
    entry = CATALOGUE[name]
    return load_or_train(entry.kind, entry.model, entry.training, device=device, cache=cache,
                         root=root, progress=progress, shipped=shipped)
