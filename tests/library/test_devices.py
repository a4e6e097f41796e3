"""Device discipline: every function that takes a model moves its inputs to the model's
device and hands back CPU tensors, arrays or figures.

Without a GPU, the model goes to PyTorch's ``meta`` device, which checks devices with
the same rules as CUDA: a CPU tensor meeting a meta model raises
``Tensor on device meta is not on the expected device cpu!``, and ``.numpy()`` of a
meta tensor raises ``can't convert meta device type tensor to numpy``, as a CUDA
tensor would. Meta tensors hold no values, so reading one back to the host
(``.cpu()``, ``.item()``, ``.tolist()``) would stop each function at its first such
read; :class:`ReadBackZeros` answers those reads with zeros of the right shape and
dtype, so every function runs to its end and every device check on the way is met.
The numbers computed are meaningless; only the devices are being tested.

On a machine with CUDA the same calls run again with the models on the GPU.
"""

from __future__ import annotations

import dataclasses
import warnings

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.overrides import TorchFunctionMode  # noqa: E402

from vae_course import data, losses, measures, plots, train, zoo  # noqa: E402
from vae_course.interactive import explorers, widgets  # noqa: E402
from vae_course.models import VAE, Autoencoder, DigitClassifier, ModelConfig  # noqa: E402

SMALL = ModelConfig(hidden=(32,), latent_dim=2)

# What PyTorch says when tensors of two devices meet (on CUDA: "cuda:0" for "meta").
MIXING = ("is not on the expected device", "Expected all tensors to be on the same device",
          "device type tensor to numpy", "Expected a 'meta' device")
NO_DATA = ("Cannot copy out of meta tensor", "cannot be called on meta tensors",
           "unsupported format string passed to Tensor.__format__")
READS = {torch.Tensor.cpu, torch.Tensor.to, torch.Tensor.item, torch.Tensor.tolist,
         torch.Tensor.__float__, torch.Tensor.__int__, torch.Tensor.__bool__,
         torch.Tensor.__index__, torch.Tensor.__format__}


class ReadBackZeros(TorchFunctionMode):
    """Reading a meta tensor back to the host gives zeros of its shape and dtype.

    Only reads that work on CUDA are answered (``.cpu()``, ``.to("cpu")``, ``.item()``,
    ``.tolist()``, ``float()``, formatting); ``.numpy()`` of a meta tensor still fails,
    as it does for a CUDA tensor. Everything else runs on the meta device unchanged.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            return func(*args, **kwargs)
        except (NotImplementedError, RuntimeError, TypeError) as exc:
            meta_self = args and isinstance(args[0], torch.Tensor) and args[0].is_meta
            if func not in READS or not meta_self or not any(m in str(exc) for m in NO_DATA):
                raise
            zeros = torch.zeros(args[0].shape, dtype=args[0].dtype)
            return func(zeros, *args[1:], **kwargs)


def devices_in(value, seen=None) -> set[str]:
    """Every device of a tensor found in ``value`` (through containers and dataclasses)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return set()
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        return {str(value.device)}
    if isinstance(value, torch.nn.Module):
        return set()  # a returned model is meant to stay on its device
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    else:
        return set()
    return set().union(*(devices_in(v, seen) for v in items)) if items else set()


def run_on(where: str, fn, /, *args, **kwargs):
    """Call ``fn``; fail with a clear message on device mixing; check what it hands back."""
    name = getattr(fn, "__qualname__", repr(fn))
    try:
        if where == "meta":
            with ReadBackZeros():
                out = fn(*args, **kwargs)
        else:
            out = fn(*args, **kwargs)
    except (RuntimeError, TypeError) as exc:
        if any(m in str(exc) for m in MIXING):
            pytest.fail(f"{name} mixes devices with its model on {where}: "
                        f"{type(exc).__name__}: {exc}")
        raise
    found = devices_in(out) - {"cpu"}
    assert not found, f"{name} handed back tensors on {found}, not on the CPU"
    return out


DEVICES = ["meta", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param


@pytest.fixture
def nets(device):
    torch.manual_seed(0)
    return {"AE": Autoencoder(SMALL).to(device).eval(), "VAE": VAE(SMALL).to(device).eval()}


@pytest.fixture
def images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(40, 784, generator=g), torch.randint(0, 10, (40,), generator=g)


@pytest.fixture(autouse=True)
def no_progress(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")


def test_read_back_zeros_keeps_the_device_checks():
    # The technique itself: mixing still raises, reading back gives zeros, numpy still fails.
    model = torch.nn.Linear(2, 3).to("meta")
    with ReadBackZeros():
        with pytest.raises(RuntimeError, match="not on the expected device"):
            model(torch.zeros(4, 2))
        out = model(torch.zeros(4, 2, device="meta"))
        assert out.is_meta and torch.equal(out.cpu(), torch.zeros(4, 3))
        assert out.sum().item() == 0.0 and out.tolist() == [[0.0] * 3] * 4
        with pytest.raises(TypeError, match="device type tensor to numpy"):
            np.asarray(out)


def test_devices_in_finds_tensors_anywhere():
    meta = torch.zeros(1, device="meta")
    assert devices_in({"a": [1, (torch.zeros(1), meta)]}) == {"cpu", "meta"}
    assert devices_in(explorers.BetaSummary(1.0, np.zeros(1), np.zeros(1), 0.0, 0.0)) == set()


# ---- plots -------------------------------------------------------------------------

def test_latent_grid_of_a_bound_decode(device, nets):
    for model in nets.values():
        fig = run_on(device, plots.latent_grid, model.decode, n=4)
        assert fig.axes[0].images


def test_latent_grid_of_a_model(device, nets):
    run_on(device, plots.latent_grid, nets["VAE"], n=3, z1=[-1.0, 0.0, 1.0], z2=[0.0, 1.0])


def test_decode_grid(device, nets):
    x_hat = run_on(device, plots.decode_grid, nets["AE"].decode, np.zeros(3), np.ones(2))
    assert x_hat.shape == (6, 784)


# ---- measures ----------------------------------------------------------------------

def test_classifier_measures(device, images):
    clf = DigitClassifier(hidden=(16,)).to(device).eval()
    x, _ = images
    assert run_on(device, measures.confidence, clf, x, batch_size=16).shape == (40,)
    assert 0 <= run_on(device, measures.confident_share, clf, x) <= 1
    assert run_on(device, measures.predict, clf, x, batch_size=16).shape == (40,)


def test_the_classifier_trains_and_loads_on_the_device(device, images, tmp_path, monkeypatch):
    x, y = images
    monkeypatch.setattr(data, "load", lambda *a, **k: (x, y))  # a tiny training set
    trained, _ = run_on(device, zoo.load, "classifier", device=device, cache=tmp_path)
    assert next(trained.parameters()).device.type == device
    loaded, _ = run_on(device, zoo.load, "classifier", device=device, cache=tmp_path)
    assert next(loaded.parameters()).device.type == device
    on_cpu, _ = zoo.load("classifier", device="cpu", cache=tmp_path)  # saved from the device
    assert measures.confidence(on_cpu, x).shape == (40,)


# ---- train -------------------------------------------------------------------------

def test_evaluate_and_fit_take_cpu_data(device, nets, images):
    x, y = images
    for model in nets.values():
        parts = run_on(device, train.evaluate, model, x, batch_size=16)
        assert set(parts) == {"loss", "recon", "kl"}
        seen = []
        history = run_on(device, train.fit, model, x, epochs=2, batch_size=16, x_test=x,
                         progress=False, on_epoch=lambda e, h: seen.append(e))
        assert len(history["test_loss"]) == 2 and seen == [1, 2]
    clf = DigitClassifier(hidden=(16,)).to(device)
    run_on(device, train.fit, clf, x, y_train=y, x_test=x, y_test=y, epochs=1,
           batch_size=16, loss_fn=losses.classifier_loss, progress=False)


def test_load_or_train_on_the_device_then_on_the_cpu(device, images, tmp_path, monkeypatch):
    x, y = images
    monkeypatch.setattr(data, "load", lambda *a, **k: (x, y))
    quick = train.TrainConfig(epochs=1, batch_size=16)
    model, history = run_on(device, zoo.load_or_train, "vae", SMALL, quick, device=device,
                            cache=tmp_path, progress=False)
    assert next(model.parameters()).device.type == device and history["test_loss"]
    path = zoo.cache_path("vae", SMALL, quick, tmp_path)
    entry = torch.load(path, map_location="meta", weights_only=True)
    assert {str(v.device) for v in entry["state_dict"].values()} == {"meta"}  # loadable anywhere
    saved = torch.load(path, weights_only=True)
    assert {str(v.device) for v in saved["state_dict"].values()} == {"cpu"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hit: no "could not be used, training again"
        on_cpu, _ = zoo.load_or_train("vae", SMALL, quick, device="cpu", cache=tmp_path)
    assert next(on_cpu.parameters()).device.type == "cpu"


def test_a_cache_entry_written_on_a_gpu_loads_on_the_cpu(tmp_path, monkeypatch):
    # Write an entry whose tensors are tagged "cuda:0", as torch.save does on a GPU.
    quick = train.TrainConfig(epochs=1)
    model = VAE(SMALL)
    path = zoo.cache_path("vae", SMALL, quick, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = zoo.cache_key("vae", SMALL, quick)
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save({"key": key, "state_dict": model.state_dict(), "history": {"loss": [1.0]}},
                   path)
    if not torch.cuda.is_available():  # the forged file is what a GPU machine writes
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded, history = zoo.load_or_train("vae", SMALL, quick, device="cpu", cache=tmp_path)
    assert history == {"loss": [1.0]}
    assert torch.equal(loaded.decoder[0].weight, model.decoder[0].weight)


# ---- explorers and widgets ---------------------------------------------------------

def test_explorer_functions(device, nets, images):
    x, _ = images
    for model in nets.values():
        assert run_on(device, explorers.encode_mean, model, x, batch_size=16).shape == (40, 2)
        for z in ([0.5, -0.5], np.zeros(2), torch.zeros(2), torch.zeros(2, device=device)):
            assert run_on(device, explorers.decode_point, model.decode, z).shape == (28, 28)
        assert run_on(device, explorers.decode_point, model, [0.0, 0.0]).shape == (28, 28)
    frames = run_on(device, explorers.interpolation_frames, x[0], x[1], 0.3, nets)
    assert list(frames) == ["pixels", "AE", "VAE"]
    run_on(device, explorers.interpolation_frames, x[0], x[1], 0.3, nets, spherical=True)
    summary = run_on(device, explorers.beta_summary, nets["VAE"], x, 1.0, n_samples=4)
    assert summary.samples.shape == (4, 784)


def test_widgets(device, nets, images):
    x, y = images

    def build_and_move():
        widgets.latent_explorer(nets, x, y)
        latent = widgets.latent_explorer(nets["VAE"], x)
        next(iter(latent.controls.values())).value = 0.5  # z1 moves: decode again
        between = widgets.interpolation_explorer(x, nets, y, steps=3)
        between.controls["t"].value = 0.8  # a slider move decodes again
        beta = widgets.beta_explorer({0.0: nets["VAE"], 1.0: nets["VAE"]}, x, y, n_samples=4)
        beta.controls["beta"].value = 1.0
        return latent.images, between.images

    run_on(device, build_and_move)


def test_beta_models_live_on_the_device_asked_for(device, images, tmp_path, monkeypatch):
    x, y = images
    monkeypatch.setattr(data, "load", lambda *a, **k: (x, y))
    monkeypatch.setenv(train.ENV_CACHE, str(tmp_path))
    sweep = run_on(device, explorers.beta_models, [0.0, 1.0], epochs=1, batch_size=16,
                   model_config=SMALL, progress=False, device=device)
    assert {next(m.parameters()).device.type for m in sweep.values()} == {device}
