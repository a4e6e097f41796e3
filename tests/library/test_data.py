"""The data root rules, loading, and the messages for missing or damaged files."""

import gzip
import shutil
from pathlib import Path

import pytest
import torch

from vae_course import data


def test_root_argument_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_COURSE_DATA", str(tmp_path / "env"))
    assert data.data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data.data_root() == tmp_path / "env"


def test_default_root_is_per_user(monkeypatch, tmp_path):
    monkeypatch.delenv("VAE_COURSE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.data_root() == tmp_path / "vae-course" / "data"


def _write_idx(path: Path, magic: int, dims: list[int], payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(header + payload)


def test_missing_data_offline_names_folder_and_fix(tmp_path):
    with pytest.raises(data.DataError) as err:
        data.ensure("mnist", tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in msg
    assert "VAE_COURSE_DATA" in msg and "vae-course data" in msg


def test_failed_download_says_what_was_tried(tmp_path, monkeypatch):
    def no_network(dataset, root):
        raise data.DataError(f"{dataset} not found under {root}, and downloading it through "
                             f"torchvision failed (URLError: offline). " + data._fix_hint(dataset, root))

    monkeypatch.setattr(data, "_download", no_network)
    with pytest.raises(data.DataError, match="downloading it through torchvision failed"):
        data.ensure("mnist", tmp_path)


def test_download_errors_are_wrapped(tmp_path, monkeypatch):
    import torchvision.datasets as tv

    class Offline:
        def __init__(self, *a, **k):
            raise OSError("Name or service not known")

    monkeypatch.setattr(tv, "MNIST", Offline)
    with pytest.raises(data.DataError) as err:
        data.ensure("mnist", tmp_path)
    assert "OSError: Name or service not known" in str(err.value)
    assert "VAE_COURSE_DATA" in str(err.value)


def test_truncated_file_is_reported(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    _write_idx(raw / "t10k-labels-idx1-ubyte", 2049, [10_000], bytes(100))  # far too short
    problem = data.check_file(raw / "t10k-labels-idx1-ubyte")
    assert "truncated" in problem
    with pytest.raises(data.DataError, match="damaged"):
        data.ensure("mnist", tmp_path, download=False)


def test_wrong_magic_is_reported(tmp_path):
    path = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    _write_idx(path, 1234, [10_000], bytes(10_000))
    assert "magic number 1234" in data.check_file(path)


def test_right_size_wrong_content_is_reported(tmp_path):
    path = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    _write_idx(path, 2049, [10_000], bytes(10_000))  # well-formed, but all labels 0
    assert data.check_file(path, full=False) is None
    assert "MD5" in data.check_file(path)


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="choose one of"):
        data.load("train", dataset="cifar")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load("validation")


def test_real_mnist_loads_as_tensors():
    x, y = data.load("test")
    assert x.shape == (10_000, 784) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # published first test labels
    x_train, y_train = data.load("train")
    assert x_train.shape == (60_000, 784)
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_fashion_mnist_loads():
    _, y = data.load("test", dataset="fashion-mnist")
    assert y[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


def test_corrupted_copy_of_real_file_is_caught(tmp_path):
    src = data.raw_files("mnist")[3]  # t10k labels, small
    dst = tmp_path / "MNIST" / "raw" / src.name
    dst.parent.mkdir(parents=True)
    blob = bytearray(src.read_bytes())
    blob[100] ^= 0xFF  # flip one label byte
    dst.write_bytes(bytes(blob))
    assert "MD5" in data.check_file(dst)


def test_gz_only_copy_is_accepted_offline(tmp_path):
    """torchvision accepts the published .gz files by their MD5 and unpacks them, offline."""
    src = data.raw_files("mnist")[0].parent
    dst = tmp_path / "MNIST" / "raw"
    dst.mkdir(parents=True)
    for gz in src.glob("*.gz"):
        shutil.copy(gz, dst / gz.name)
    data.ensure("mnist", tmp_path)
    with gzip.open(dst / "t10k-labels-idx1-ubyte.gz") as f:
        assert f.read() == (dst / "t10k-labels-idx1-ubyte").read_bytes()


def test_batches_cover_everything_once():
    g = torch.Generator().manual_seed(0)
    idx = torch.cat(list(data.batches(1000, 128, generator=g)))
    assert sorted(idx.tolist()) == list(range(1000))
    sizes = [len(b) for b in data.batches(1000, 128, shuffle=False)]
    assert sizes == [128] * 7 + [104]
    with pytest.raises(ValueError):
        next(data.batches(10, 0))


def test_importing_the_course_does_not_import_torchvision():
    """torchvision costs a kernel about a second: only reading a dataset or drawing a grid
    imports it, so a graded run that needs neither does not pay for it."""
    import subprocess
    import sys

    modules = ["vae_course." + m for m in (
        "data", "models", "losses", "train", "plots", "measures", "zoo", "checks",
        "convolutional", "conditional", "likelihood", "interactive.widgets",
        "interactive.explorers", "interactive.traversal", "interactive.conditional_explorer",
        "interactive.questions", "tools.grader_cell")]
    code = f"import sys, {', '.join(modules)}; print('torchvision' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
