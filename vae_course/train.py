"""Seeding, device choice, the one training loop (``fit``), evaluation, and a model cache.

``load_or_train`` returns a trained model at once when the same model (same kind,
sizes, data and training settings) was trained before, so re-running a notebook is
instant. The cache folder is ``$VAE_COURSE_CACHE``, else a per-user default.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import warnings
from dataclasses import asdict, dataclass, replace
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import data as data_mod
from .conditional import CVAE, CVAEConfig, cvae_loss
from .convolutional import ConvConfig
from .losses import LossParts, model_loss
from .models import ModelConfig, build, device_of

ENV_CACHE = "VAE_COURSE_CACHE"
# Bump when a change to the code changes what a given configuration trains into.
CACHE_VERSION = 2  # 2: trained with fused Adam


def set_seed(seed: int) -> None:
    """Seed Python's and PyTorch's generators (CPU and CUDA)."""
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA when available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class TrainConfig:
    """Everything about training that shapes the result (and so keys the cache)."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    seed: int = 0
    dataset: str = "mnist"
    train_size: int | None = None  # use only the first N training images (quick runs)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.beta < 0:
            raise ValueError(f"epochs, batch_size and lr must be positive and beta >= 0, got {self}")


LossFn = Callable[..., LossParts]


def _parts(loss_fn: LossFn | None, model, xb, yb, beta) -> LossParts:
    if loss_fn is None:
        return model_loss(model, xb, beta)
    return loss_fn(model, xb, yb)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, beta: float = 1.0,
             batch_size: int = 2000, seed: int = 0, y: torch.Tensor | None = None,
             loss_fn: LossFn | None = None) -> dict[str, float]:
    """Average loss parts over all of ``x`` (nats per image), one latent sample per image.

    The sampling noise is seeded with ``seed``, so the figure is reproducible, and the
    global random state is left as it was. ``loss_fn(model, x, y)`` replaces the
    (V)AE loss for other models (see :func:`fit`).
    """
    was_training = model.training
    model.eval()
    device = device_of(model)
    totals = torch.zeros(3, dtype=torch.float64)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for idx in data_mod.batches(len(x), batch_size, shuffle=False):
            yb = None if y is None else y[idx].to(device)
            parts = _parts(loss_fn, model, x[idx].to(device), yb, beta)
            totals += torch.stack(parts).double().cpu() * len(idx)
    model.train(was_training)
    loss, recon, kl = (totals / len(x)).tolist()
    return {"loss": loss, "recon": recon, "kl": kl}


# Devices with a fused Adam kernel; elsewhere (e.g. PyTorch's "meta" device) the
# constructor accepts fused=True but the first step fails.
FUSED_DEVICES = ("cpu", "cuda")


def adam(params, lr: float) -> torch.optim.Optimizer:
    """Adam, with the fused kernel where this torch and device have one.

    The fused step is one pass over the parameters instead of a dozen small ops per
    tensor; on a 2-core CPU it makes a course epoch about 20% faster. Older torch
    (< 2.4 on the CPU) falls back to plain Adam.
    """
    params = list(params)
    if any(p.device.type not in FUSED_DEVICES for p in params):
        return torch.optim.Adam(params, lr=lr)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel here
        return torch.optim.Adam(params, lr=lr)


def fit(model: torch.nn.Module, x_train: torch.Tensor, *, epochs: int = 10,
        batch_size: int = 128, lr: float = 1e-3, beta: float = 1.0, seed: int = 0,
        x_test: torch.Tensor | None = None, progress: bool = True,
        desc: str = "training", y_train: torch.Tensor | None = None,
        y_test: torch.Tensor | None = None, loss_fn: LossFn | None = None,
        on_epoch: Callable[[int, dict], None] | None = None,
        ) -> dict[str, list[float]]:
    """Train ``model`` with Adam on ``x_train`` (N, 784); return the history of the loss parts.

    Works for the autoencoder (reconstruction only) and the VAE (recon + beta * kl).
    Batches are taken by indexing ``x_train`` on the model's device. Another model
    (a classifier, say) passes ``loss_fn(model, x, y) -> LossParts`` and labels.
    ``on_epoch(epoch, history)``, if given, is called after each epoch (numbered from 1),
    outside the timed part and with the random state restored afterwards: to plot as
    training goes, or to do other work in between.

    Returns:
        dict of lists, one entry per epoch: ``loss``, ``recon``, ``kl`` (training
        averages), ``seconds`` (training time of the epoch) and, when ``x_test`` is
        given, ``test_loss``, ``test_recon``, ``test_kl`` and ``test_seconds``.
    """
    device = device_of(model)
    x_train = x_train.to(device)
    y_train = None if y_train is None else y_train.to(device)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the VAE's sampling noise
    optimizer = adam(model.parameters(), lr)
    n_batches = -(-len(x_train) // batch_size)
    history: dict[str, list[float]] = {k: [] for k in ("loss", "recon", "kl", "seconds")}
    bar_args = {} if progress else {"disable": True}
    bar = tqdm(total=epochs * n_batches, desc=desc, unit="batch", **bar_args)
    model.train()
    for epoch in range(epochs):
        start = time.perf_counter()
        totals = torch.zeros(3, device=device)
        for idx in data_mod.batches(len(x_train), batch_size, generator=generator, device=device):
            yb = None if y_train is None else y_train[idx]
            parts = _parts(loss_fn, model, x_train[idx], yb, beta)
            optimizer.zero_grad(set_to_none=True)
            parts.loss.backward()
            optimizer.step()
            totals += torch.stack(parts).detach() * len(idx)
            bar.update()
        history["seconds"].append(time.perf_counter() - start)
        for key, value in zip(("loss", "recon", "kl"), (totals / len(x_train)).tolist()):
            history[key].append(value)
        postfix = {"loss": f"{history['loss'][-1]:.1f}"}
        if x_test is not None:
            start = time.perf_counter()
            test = evaluate(model, x_test, beta, seed=seed, y=y_test, loss_fn=loss_fn)
            history.setdefault("test_seconds", []).append(time.perf_counter() - start)
            for key, value in test.items():
                history.setdefault(f"test_{key}", []).append(value)
            postfix["test"] = f"{history['test_loss'][-1]:.1f}"
        bar.set_postfix(postfix)
        if on_epoch is not None:  # its own random draws must not change this run's noise
            model.eval()
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                on_epoch(epoch + 1, history)
            model.train()
    bar.close()
    model.eval()
    return history


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vae-course" / "models"


def cache_dir(folder: str | os.PathLike | None = None) -> Path:
    """The model cache: ``folder`` if given, else ``$VAE_COURSE_CACHE``, else a per-user default."""
    if folder is not None:
        return Path(folder).expanduser()
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else default_cache_dir()


def cache_key(kind: str, model_config: ModelConfig, train_config: TrainConfig) -> dict:
    return {"kind": kind, "model": model_config.as_dict(), "train": asdict(train_config),
            "version": CACHE_VERSION}


def cache_path(kind: str, model_config: ModelConfig, train_config: TrainConfig,
               folder=None) -> Path:
    key = cache_key(kind, model_config, train_config)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir(folder) / f"{kind}-z{model_config.latent_dim}-{digest}.pt"


def _read_cache(path: Path, model: torch.nn.Module, key: dict) -> dict | None:
    """Load a cache entry into ``model``; return its history, or None when it is absent or bad."""
    if not path.exists():
        return None
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
        if json.dumps(entry.get("key"), sort_keys=True) != json.dumps(key, sort_keys=True):
            raise ValueError("it was saved for different settings")
        model.load_state_dict(entry["state_dict"])
        return entry["history"]
    except Exception as exc:  # unreadable, truncated, stale: all mean "train again"
        warnings.warn(f"model cache entry {path} could not be used ({type(exc).__name__}: "
                      f"{exc}); training the model again.", stacklevel=4)
        return None


def cached(model: torch.nn.Module, key: dict, path: Path,
           train_fn: Callable[[torch.nn.Module], dict], device) -> tuple[torch.nn.Module, dict]:
    """Fill ``model`` from the cache entry at ``path`` when its ``key`` matches; else train
    it with ``train_fn(model)`` (on ``device``) and save it there. Returns (model, history)."""
    history = _read_cache(path, model, key)
    if history is not None:
        return model.to(device).eval(), history
    history = train_fn(model.to(device))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"key": key, "state_dict": state, "history": history}, tmp)
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written entry behind
    return model.eval(), history


# Weights shipped in the package for models that take minutes to train on a CPU. Each
# file is the cache entry that load_or_train wrote for its settings (FASHION_MODELS), so
# the same code remakes it; it is used on a cache miss once its SHA-256 matches.
WEIGHTS = Path(__file__).with_name("weights")
SHIPPED_SHA256: dict[str, str] = {
    "conv_vae-z16-6bf63fd812ea3f35.pt": "c445dae2777b301928ec99eb0aadc7ade2c7b92d773db3d251af05d89d5602bf",
    "conv_vae-z2-e0465d3a239c7f78.pt": "8bf59af3ee11e1a14cae2492097050518ea3457584085f11c628d0cb1d57d799",
    "vae-z16-279071ebe20a1746.pt": "82c734599e62dadaa73ee45030acb12a5db913f1a7e04837514d12fbf5314ab5",
}


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


def load_or_train(kind: str, model_config: ModelConfig | None = None,
                  train_config: TrainConfig | None = None, *, device=None, cache=None,
                  root=None, progress: bool = True,
                  shipped: bool = True) -> tuple[torch.nn.Module, dict]:
    """Return a trained ``kind`` model ("ae" or "vae") and its history, from the cache if possible.

    Args:
        kind (str): "ae" or "vae".
        model_config (ModelConfig): sizes; defaults to ``ModelConfig()``.
        train_config (TrainConfig): data and training settings; defaults to ``TrainConfig()``.
        device: where the returned model lives (default: CUDA if available, else CPU).
        cache: cache folder (default: ``$VAE_COURSE_CACHE`` or a per-user folder).
        root: data root (default: see :func:`vae_course.data.data_root`).
        progress (bool): show a progress bar while training.
        shipped (bool): on a cache miss, use the weights shipped in the package for
            exactly these settings, if any (see ``SHIPPED_SHA256``).

    Returns:
        (model in eval mode, history dict as returned by :func:`fit`).
    """
    model_config = model_config or ModelConfig()
    t = train_config or TrainConfig()
    key = cache_key(kind, model_config, t)
    path = cache_path(kind, model_config, t, cache)
    set_seed(t.seed)  # the initial weights depend on it
    model = LABELLED[kind][0](model_config) if kind in LABELLED else build(kind, model_config)

    def train_fn(model):
        x_train, y_train = data_mod.load("train", t.dataset, root=root)
        x_test, y_test = data_mod.load("test", t.dataset, root=root)
        x_train = x_train if t.train_size is None else x_train[: t.train_size]
        labels = {}  # a model that reads the label: pass labels and its loss to fit
        if kind in LABELLED:
            loss = LABELLED[kind][1]
            labels = {"y_train": y_train[: len(x_train)], "y_test": y_test,
                      "loss_fn": lambda m, xb, yb: loss(m, xb, yb, t.beta)}
        return fit(model, x_train, epochs=t.epochs, batch_size=t.batch_size, lr=t.lr,
                   beta=t.beta, seed=t.seed, x_test=x_test, progress=progress,
                   desc=f"training {kind.upper()} (z={model_config.latent_dim})", **labels)

    packaged = shipped_entry(path) if shipped and not path.exists() else None
    history = None if packaged is None else _read_cache(packaged, model, key)
    if history is not None:
        return model.to(get_device(device)).eval(), history
    return cached(model, key, path, train_fn, get_device(device))


# The 2-D models that the notebooks share: the same settings give the same cache entry,
# so a model trained in one notebook is loaded at once in the next.
COURSE_MODELS = {
    "ae": (ModelConfig(hidden=(256, 128), latent_dim=2),
           TrainConfig(epochs=4, batch_size=256, lr=2e-3)),
    "vae": (ModelConfig(hidden=(256, 128), latent_dim=2),
            TrainConfig(epochs=7, batch_size=256, lr=2e-3)),
    "cvae": (CVAEConfig(hidden=(256, 128), latent_dim=2),  # notebook 07
             TrainConfig(epochs=5, batch_size=256, lr=3e-3)),
}

# Kinds whose model reads the label too: kind -> (model class, loss(model, x, y, beta)).
LABELLED = {"cvae": (CVAE, cvae_loss)}


def course_model(kind: str, *, device=None, cache=None, root=None,
                 progress: bool = True) -> tuple[torch.nn.Module, dict]:
    """The course's shared 2-D autoencoder (``"ae"``) or VAE (``"vae"``), loaded or trained."""
    if kind not in COURSE_MODELS:
        raise ValueError(f"unknown course model {kind!r}: choose one of {', '.join(COURSE_MODELS)}")
    model_config, train_config = COURSE_MODELS[kind]
    return load_or_train(kind, model_config, train_config, device=device, cache=cache,
                         root=root, progress=progress)


# Notebook 06's Fashion-MNIST models: name -> (kind, sizes, training). The two 16-D models
# have about the same number of parameters; their weights ship in the package.
FASHION_TRAIN = TrainConfig(epochs=12, batch_size=128, lr=2e-3, dataset="fashion-mnist")
FASHION_MODELS = {
    "conv16": ("conv_vae", ConvConfig(channels=(16, 32), latent_dim=16), FASHION_TRAIN),
    "mlp16": ("vae", ModelConfig(hidden=(64,), latent_dim=16), FASHION_TRAIN),
    # A 2-D code saturates within a few epochs (its test loss curve is flat by then).
    "conv2": ("conv_vae", ConvConfig(channels=(16, 32), latent_dim=2),
              replace(FASHION_TRAIN, epochs=4)),
}


def fashion_model(name: str, *, device=None, cache=None, root=None, progress: bool = True,
                  shipped: bool = True) -> tuple[torch.nn.Module, dict]:
    """One of notebook 06's Fashion-MNIST VAEs (``FASHION_MODELS``): shipped, cached or trained."""
    if name not in FASHION_MODELS:
        raise ValueError(f"unknown Fashion-MNIST model {name!r}: choose one of "
                         f"{', '.join(FASHION_MODELS)}")
    kind, model_config, train_config = FASHION_MODELS[name]
    return load_or_train(kind, model_config, train_config, device=device, cache=cache,
                         root=root, progress=progress, shipped=shipped)
