"""``vae-course data``: fetch MNIST and Fashion-MNIST if missing, and verify the files."""

from __future__ import annotations

import argparse
import sys

from .. import data


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist", "all"], default="all")
    p.add_argument("--root", help="data folder (default: $VAE_COURSE_DATA or a per-user folder)")
    p.add_argument("--no-download", action="store_true", help="only verify what is on disk")


def run(args) -> int:
    names = list(data.DATASETS) if args.dataset == "all" else [args.dataset]
    status = 0
    for name in names:
        try:
            root = data.ensure(name, args.root, download=not args.no_download)
            print(f"ok: {name} in {root / data.DATASETS[name].folder / 'raw'} (checksums verified)")
        except data.DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    return status
