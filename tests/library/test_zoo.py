"""The model catalogue (vae_course.zoo): kinds, entries, the cache key, shipped weights."""

import hashlib
import math
import shutil
import warnings

import pytest
import torch

from vae_course import train, zoo
from vae_course.conditional import CVAE, CVAEConfig
from vae_course.convolutional import ConvConfig, ConvVAE, n_parameters
from vae_course.models import VAE, ClassifierConfig, DigitClassifier, ModelConfig

SMALL = ModelConfig(hidden=(64,), latent_dim=2)
QUICK = train.TrainConfig(epochs=2, batch_size=256, lr=2e-3, train_size=4096)
SMALL_CVAE = CVAEConfig(hidden=(32,), latent_dim=2)
QUICK_CVAE = train.TrainConfig(epochs=2, batch_size=128, lr=3e-3, train_size=4000)
FASHION = [name for name, entry in zoo.CATALOGUE.items() if zoo.cache_path(
    entry.kind, entry.model, entry.training).name in zoo.SHIPPED_SHA256]


def test_build_makes_each_kind_and_names_the_kinds_on_a_typo():
    assert isinstance(zoo.build("vae", ModelConfig()), VAE)
    assert isinstance(zoo.build("conv_vae", ConvConfig(channels=(4, 8))), ConvVAE)
    assert isinstance(zoo.build("cvae", SMALL_CVAE), CVAE)
    assert isinstance(zoo.build("classifier", ClassifierConfig()), DigitClassifier)
    with pytest.raises(ValueError, match=r"unknown model kind 'gan'.*'ae'.*'vae'"):
        zoo.build("gan", ModelConfig())


def test_every_entry_builds_and_has_its_own_cache_entry():
    paths = set()
    for name, entry in zoo.CATALOGUE.items():
        assert entry.kind in zoo.KINDS, name
        zoo.build(entry.kind, entry.model)
        paths.add(zoo.cache_path(entry.kind, entry.model, entry.training))
    assert len(paths) == len(zoo.CATALOGUE)
    assert FASHION == ["fashion-conv16", "fashion-mlp16", "fashion-conv2"]


def test_an_unknown_name_lists_the_catalogue():
    with pytest.raises(ValueError, match=r"no model 'gan'.*'ae'.*'vae'.*'cvae'"):
        zoo.load("gan")


def test_cache_miss_then_hit(tmp_path, monkeypatch):
    m1, h1 = zoo.load_or_train("ae", SMALL, QUICK, cache=tmp_path, progress=False)
    files = list(tmp_path.glob("ae-z2-*.pt"))
    assert len(files) == 1
    def no_training(*args, **kwargs):
        raise AssertionError("a cache hit must not train")

    monkeypatch.setattr(zoo, "fit", no_training)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m2, h2 = zoo.load_or_train("ae", SMALL, QUICK, cache=tmp_path, progress=False)
    assert h1 == h2
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())
    assert not m2.training


def test_cache_key_covers_what_shapes_the_model(tmp_path):
    paths = {
        zoo.cache_path("ae", SMALL, QUICK, tmp_path),
        zoo.cache_path("vae", SMALL, QUICK, tmp_path),
        zoo.cache_path("ae", ModelConfig(hidden=(64,), latent_dim=3), QUICK, tmp_path),
        zoo.cache_path("ae", SMALL, train.TrainConfig(**{**QUICK.__dict__, "beta": 2.0}), tmp_path),
        zoo.cache_path("ae", SMALL, train.TrainConfig(**{**QUICK.__dict__, "seed": 1}), tmp_path),
        zoo.cache_path("ae", SMALL, train.TrainConfig(**{**QUICK.__dict__, "dataset": "fashion-mnist"}), tmp_path),
    }
    assert len(paths) == 6


def test_corrupt_cache_entry_is_retrained_with_a_warning(tmp_path):
    path = zoo.cache_path("ae", SMALL, QUICK, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a checkpoint")
    with pytest.warns(UserWarning, match="training the model again"):
        model, history = zoo.load_or_train("ae", SMALL, QUICK, cache=tmp_path, progress=False)
    assert len(history["loss"]) == QUICK.epochs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten entry is now good
        zoo.load_or_train("ae", SMALL, QUICK, cache=tmp_path, progress=False)


def test_truncated_cache_entry_is_retrained(tmp_path):
    zoo.load_or_train("ae", SMALL, QUICK, cache=tmp_path, progress=False)
    path = zoo.cache_path("ae", SMALL, QUICK, tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="could not be used"):
        zoo.load_or_train("ae", SMALL, QUICK, cache=tmp_path, progress=False)


def test_load_or_train_passes_the_labels_and_caches(tmp_path, monkeypatch):
    m1, h1 = zoo.load_or_train("cvae", SMALL_CVAE, QUICK_CVAE, cache=tmp_path, progress=False)
    assert isinstance(m1, CVAE) and not m1.training
    assert len(list(tmp_path.glob("cvae-z2-*.pt"))) == 1
    assert h1["test_loss"][-1] < 0.8 * 784 * math.log(2)  # below the untrained 543 nats
    monkeypatch.setattr(zoo, "fit", lambda *a, **k: pytest.fail("a cache hit must not train"))
    m2, h2 = zoo.load_or_train("cvae", SMALL_CVAE, QUICK_CVAE, cache=tmp_path, progress=False)
    assert h1 == h2
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_the_course_cvae_is_registered():
    entry = zoo.CATALOGUE["cvae"]
    assert isinstance(entry.model, CVAEConfig) and entry.model.latent_dim == 2
    assert zoo.cache_path("cvae", entry.model, entry.training).name.startswith("cvae-z2-")


def test_the_two_16d_models_have_a_similar_parameter_count():
    conv_config = zoo.CATALOGUE["fashion-conv16"].model
    mlp_config = zoo.CATALOGUE["fashion-mlp16"].model
    conv, mlp = n_parameters(ConvVAE(conv_config)), n_parameters(VAE(mlp_config))
    assert 0.8 < conv / mlp < 1.25, (conv, mlp)


# ---- shipped weights -----------------------------------------------------------------

def test_every_shipped_file_is_listed_with_its_hash_and_loads_safely():
    files = sorted(p.name for p in zoo.WEIGHTS.glob("*.pt"))
    assert files == sorted(zoo.SHIPPED_SHA256)
    for name, digest in zoo.SHIPPED_SHA256.items():
        data = (zoo.WEIGHTS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        entry = torch.load(zoo.WEIGHTS / name, weights_only=True)
        assert set(entry) == {"key", "state_dict", "history"}
    total = sum((zoo.WEIGHTS / n).stat().st_size for n in files)
    assert total < 3_000_000, f"shipped weights take {total:,} bytes"


@pytest.mark.parametrize("name", FASHION)
def test_fashion_models_come_from_the_shipped_weights_without_training(name, tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although weights ship")
    monkeypatch.setattr(zoo, "fit", no_training)
    model, history = zoo.load(name, cache=tmp_path, progress=False)
    assert history["test_loss"] and not model.training
    assert not list(tmp_path.iterdir())  # the shipped file is read, not copied


def test_damaged_shipped_weights_are_not_used(tmp_path, monkeypatch):
    name = next(iter(zoo.SHIPPED_SHA256))
    folder = tmp_path / "weights"
    folder.mkdir()
    damaged = bytearray((zoo.WEIGHTS / name).read_bytes())
    damaged[-10] ^= 0xFF
    (folder / name).write_bytes(bytes(damaged))
    monkeypatch.setattr(zoo, "WEIGHTS", folder)
    with pytest.warns(UserWarning, match="SHA-256"):
        assert zoo.shipped_entry(tmp_path / name) is None
    shutil.copy(zoo.__file__, tmp_path / "unrelated.pt")
    assert zoo.shipped_entry(tmp_path / "unrelated.pt") is None


@pytest.mark.slow
@pytest.mark.parametrize("name", FASHION)
def test_retraining_reproduces_the_shipped_test_loss(name, tmp_path):
    """Remakes a shipped model with the same code (minutes on a CPU); the test loss must agree
    within 1.5 nats per image (the spread between machines and thread counts)."""
    _, shipped = zoo.load(name, cache=tmp_path / "unused", progress=False)
    _, fresh = zoo.load(name, cache=tmp_path, progress=False, shipped=False)
    assert abs(fresh["test_loss"][-1] - shipped["test_loss"][-1]) < 1.5
