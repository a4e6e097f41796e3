"""Seeding, the training loop, evaluation and the model cache."""


import pytest
import torch

from vae_course import data, train
from vae_course.models import VAE, ModelConfig

SMALL = ModelConfig(hidden=(64,), latent_dim=2)
QUICK = train.TrainConfig(epochs=2, batch_size=256, lr=2e-3, train_size=4096)


def test_get_device():
    assert train.get_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert train.get_device().type == expected


def test_short_real_training_run_lowers_the_loss():
    x, _ = data.load("train")
    x_test, _ = data.load("test")
    train.set_seed(0)
    model = VAE(SMALL)
    before = train.evaluate(model, x_test[:2000])["loss"]
    history = train.fit(model, x[:8192], epochs=3, batch_size=128, lr=2e-3,
                        x_test=x_test[:2000], progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert history["test_loss"][-1] < before - 100  # from ~543 nats to well under 300
    assert set(history) >= {"loss", "recon", "kl", "seconds", "test_loss", "test_recon", "test_kl"}
    assert len(history["test_loss"]) == 3
    h = history
    assert abs(h["test_loss"][-1] - (h["test_recon"][-1] + h["test_kl"][-1])) < 1e-3


def test_same_seed_same_result():
    x, _ = data.load("train")
    results = []
    for _ in range(2):
        train.set_seed(1)
        model = VAE(SMALL)
        results.append(train.fit(model, x[:1024], epochs=1, batch_size=128, seed=3,
                                 progress=False)["loss"][0])
    assert results[0] == results[1]


def test_evaluate_is_reproducible_and_leaves_rng_alone():
    x, _ = data.load("test")
    model = VAE(SMALL)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = train.evaluate(model, x[:500], seed=0)
    b = train.evaluate(model, x[:500], seed=0)
    assert a == b
    assert torch.equal(torch.get_rng_state(), state)
    assert model.training  # the mode is restored


def test_cache_folder_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "env"))
    assert train.cache_dir() == tmp_path / "env"
    assert train.cache_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("VAE_COURSE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert train.cache_dir() == tmp_path / "vae-course" / "models"


def test_bad_train_config_is_refused():
    with pytest.raises(ValueError):
        train.TrainConfig(epochs=0)


def test_adam_is_fused_where_torch_has_the_kernel():
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = train.adam(params, 1e-3)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["lr"] == 1e-3
    major, minor = (int(v) for v in torch.__version__.split(".")[:2])
    if (major, minor) >= (2, 4):
        assert opt.defaults["fused"] is True


def test_adam_falls_back_to_plain_adam_without_a_fused_kernel(monkeypatch):
    real = torch.optim.Adam

    def no_fused(params, lr, fused=None):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be on a supported device")
        return real(params, lr=lr)

    monkeypatch.setattr(torch.optim, "Adam", no_fused)
    opt = train.adam([torch.nn.Parameter(torch.zeros(3))], 1e-3)
    assert isinstance(opt, real) and not opt.defaults.get("fused")


def test_on_epoch_sees_each_finished_epoch_and_does_not_change_training():
    x = torch.rand(1024, 784)
    seen = []

    def on_epoch(epoch, history):
        seen.append((epoch, len(history["loss"]), len(history["test_loss"])))
        torch.randn(100)  # work in between must not disturb the run's own randomness...

    runs = []
    for hook in (None, on_epoch):
        train.set_seed(0)
        model = VAE(SMALL)
        h = train.fit(model, x, epochs=3, batch_size=256, x_test=x[:256], progress=False,
                      on_epoch=hook)
        runs.append(h["loss"])
    assert seen == [(1, 1, 1), (2, 2, 2), (3, 3, 3)]
    assert runs[0] == runs[1]  # ...so the run is the same with and without the hook
    assert not model.training
