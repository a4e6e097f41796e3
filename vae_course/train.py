"""Seeding, device choice, the one training loop (``fit``), evaluation, and the model cache.

The cache (``$VAE_COURSE_CACHE``, else a per-user folder) keeps each trained model under
a key of everything that shaped it; :func:`cached` reads an entry back or trains and
writes it. Which models the course trains, and with which settings, is the model
catalogue's business (:mod:`vae_course.zoo`): this module knows no model by name.
"""

from __future__ import annotations

import json
import os
import random
import time
import warnings
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import data as data_mod
from .losses import LossParts, model_loss
from .models import device_of

ENV_CACHE = "VAE_COURSE_CACHE"


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


def read_cache(path: Path, model: torch.nn.Module, key: dict) -> dict | None:
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
    history = read_cache(path, model, key)
    if history is not None:
        return model.to(device).eval(), history
    history = train_fn(model.to(device))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"key": key, "state_dict": state, "history": history}, tmp)
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written entry behind
    return model.eval(), history
