"""MNIST and Fashion-MNIST as tensors already in memory.

The whole data set is read once (through torchvision, from its raw IDX files) into
one float tensor of shape (N, 784) with values in [0, 1]. Training batches are then
taken by indexing that tensor, which is many times faster on a CPU than sending
every image through a PIL transform in a ``DataLoader``.

Where the files live (the *data root*) is, in order: the ``root`` argument, the
environment variable ``VAE_COURSE_DATA``, or a per-user default folder. Inside it the
files follow torchvision's layout: ``<root>/MNIST/raw/train-images-idx3-ubyte`` ...
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

ENV_DATA = "VAE_COURSE_DATA"
IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE


class DataError(RuntimeError):
    """The data set could not be found, fetched or trusted. The message says how to fix it."""


@dataclass(frozen=True)
class DatasetInfo:
    folder: str  # torchvision's folder name under the data root
    classes: tuple[str, ...]
    md5: dict[str, str]  # decompressed raw file -> MD5 of its published content


DATASETS = {
    "mnist": DatasetInfo(
        folder="MNIST",
        classes=tuple(str(d) for d in range(10)),
        md5={
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
    ),
    "fashion-mnist": DatasetInfo(
        folder="FashionMNIST",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        md5={
            "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
        },
    ),
}

# IDX headers: magic number, then one big-endian 32-bit size per dimension.
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049
_COUNTS = {"train": 60_000, "t10k": 10_000}


def default_root() -> Path:
    """The per-user data folder used when neither an argument nor ``VAE_COURSE_DATA`` is given."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vae-course" / "data"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Resolve the data root: ``root`` if given, else ``$VAE_COURSE_DATA``, else :func:`default_root`."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    return default_root()


def _info(dataset: str) -> DatasetInfo:
    try:
        return DATASETS[dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}"
        ) from None


def raw_files(dataset: str = "mnist", root=None) -> list[Path]:
    """The four decompressed IDX files that torchvision reads, in its layout."""
    raw = data_root(root) / _info(dataset).folder / "raw"
    return [raw / name for name in _info(dataset).md5]


def _expected_size(name: str) -> int:
    count = _COUNTS[name.split("-")[0]]
    return 16 + count * IMAGE_PIXELS if "images" in name else 8 + count


def check_file(path: Path, dataset: str = "mnist", full: bool = True) -> str | None:
    """Return what is wrong with one raw IDX file, or None when it checks out.

    Checks the header (magic number and sizes) and the file length; with ``full``
    also the MD5 of the content against the published value.
    """
    name = path.name
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    expected = _expected_size(name)
    if size != expected:
        return f"has {size:,} bytes, expected {expected:,} (truncated or not an IDX file)"
    with open(path, "rb") as f:
        magic = int.from_bytes(f.read(4), "big")
    want_magic = _IMAGE_MAGIC if "images" in name else _LABEL_MAGIC
    if magic != want_magic:
        return f"starts with magic number {magic}, expected {want_magic} (not an IDX file)"
    if full and _md5(path, path.stat().st_mtime_ns) != _info(dataset).md5[name]:
        return "has the right size but the wrong content (MD5 differs from the published one)"
    return None


@functools.lru_cache(maxsize=32)
def _md5(path: Path, mtime_ns: int) -> str:  # mtime in the key: a replaced file is re-hashed
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fix_hint(dataset: str, root: Path) -> str:
    folder = root / _info(dataset).folder / "raw"
    return (
        f"To fix it, either\n"
        f"  - copy a good '{_info(dataset).folder}' folder (with raw/ inside) into {root},\n"
        f"  - or point {ENV_DATA} at a folder that already holds it "
        f"(e.g. export {ENV_DATA}=/path/to/data),\n"
        f"  - or, on a machine with a network, run `vae-course data --dataset {dataset}` "
        f"and copy {folder} over."
    )


def ensure(dataset: str = "mnist", root=None, download: bool = True) -> Path:
    """Make sure the raw files of ``dataset`` are on disk and sound; return the data root.

    Missing files are downloaded through torchvision when ``download`` is true.

    Raises:
        DataError: the files are missing and could not be downloaded, or a file is
            corrupt or truncated. The message names the folder and how to fix it.
    """
    root = data_root(root)
    info = _info(dataset)
    files = raw_files(dataset, root)
    problems = {p: check_file(p, dataset) for p in files}
    missing = [p for p, err in problems.items() if err == "missing"]
    broken = {p: err for p, err in problems.items() if err not in (None, "missing")}
    if broken:
        lines = "\n".join(f"  - {p} {err}" for p, err in broken.items())
        raise DataError(
            f"{info.folder} under {root} is damaged:\n{lines}\n"
            f"Delete the damaged files so they can be fetched again, or replace them. "
            + _fix_hint(dataset, root)
        )
    if missing:
        if not download:
            raise DataError(
                f"{info.folder} not found under {root} (looked for {files[0].parent}) "
                f"and downloading is switched off. " + _fix_hint(dataset, root)
            )
        _download(dataset, root)
        still = [p for p in files if check_file(p, dataset) is not None]
        if still:
            raise DataError(f"download of {info.folder} into {root} left bad files: {still}. "
                            + _fix_hint(dataset, root))
    return root


def _download(dataset: str, root: Path) -> None:
    from torchvision import datasets as tv

    cls = tv.MNIST if dataset == "mnist" else tv.FashionMNIST
    try:
        root.mkdir(parents=True, exist_ok=True)
        for train in (True, False):
            cls(root=str(root), train=train, download=True)
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"{_info(dataset).folder} not found under {root}, and downloading it through "
            f"torchvision failed ({type(exc).__name__}: {exc}). " + _fix_hint(dataset, root)
        ) from None  # the message names the cause; torchvision's traceback would bury it


@functools.lru_cache(maxsize=8)
def _load_cpu(dataset: str, train: bool, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision import datasets as tv

    cls = tv.MNIST if dataset == "mnist" else tv.FashionMNIST
    ds = cls(root=str(root), train=train, download=False)
    x = ds.data.reshape(len(ds.data), IMAGE_PIXELS).float().div_(255.0)  # (N, 784)
    return x, ds.targets.long()


def load(split: str = "train", dataset: str = "mnist", root=None, device="cpu",
         download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split as tensors.

    Args:
        split (str): ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        dataset (str): ``"mnist"`` or ``"fashion-mnist"``.
        root (str or Path, optional): data root; see :func:`data_root`.
        device (str or torch.device): where to put the tensors.
        download (bool): fetch missing files through torchvision.

    Returns:
        (x, y): images of shape (N, 784), float32 in [0, 1], and labels (N,), int64.
        The tensors are shared between calls: clone before changing them in place.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    root = ensure(dataset, root, download).resolve()
    x, y = _load_cpu(dataset, split == "train", root)
    return x.to(device), y.to(device)


def batches(n: int, batch_size: int, shuffle: bool = True,
            generator: torch.Generator | None = None, device="cpu") -> Iterator[torch.Tensor]:
    """Yield index tensors that cover ``range(n)`` in batches (the last one may be smaller)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(device)
    yield from order.split(batch_size)


def images(x: torch.Tensor) -> torch.Tensor:
    """Reshape flat images (N, 784) to (N, 1, 28, 28) for plotting or convolutions."""
    return x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
