"""Training speed and quality of the course's data path and ``fit``, against the usual loop.

Trains the reference VAE (784-400-20 MLP, ReLU, batch 128, Adam 1e-3, BCE summed over
pixels + analytic KL, one latent sample) two ways on the same machine and thread count:

* **conventional**: a torchvision ``DataLoader`` over ``MNIST(transform=ToTensor())``,
  the per-image PIL path that most tutorials use, with the example's own loop;
* **course**: ``vae_course.data.load`` (one tensor in memory, batches by indexing) and
  ``vae_course.train.fit``.

The two paths run epoch by epoch in turn, with the compute floor measured between them,
so that a machine whose speed drifts treats all three alike; ratios are medians over the
epochs. It prints seconds per epoch (training and evaluation), the test loss after each epoch
(nats per image), the time to reach test losses of 110 and 105.6, the compute floor of
the model on this machine (matrix multiplies at the same shapes, timed), and the
time of each solution notebook on a fresh kernel with a cold and a warm model cache.
Figures go to ``benchmarks/results/train_speed.json`` and a plot beside it.

    python benchmarks/train_speed.py              # everything (about 10 minutes on 2 cores)
    python benchmarks/train_speed.py --epochs 2 --skip-notebooks   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vae_course import data, train  # noqa: E402
from vae_course.models import VAE, ModelConfig  # noqa: E402

SIZES = (784, 400, 20)
BATCH, LR = 128, 1e-3
TARGETS = (110.0, 105.6)
# The reference example's 10 epochs timed earlier on a 2-core laptop-class machine
# (10.7 s per epoch): the figure the course's speed target is set against.
REFERENCE_TEN_EPOCHS_S = 110.0


# ---- the conventional path: the example's model, loss and loop, fed by a DataLoader ----

class ExampleVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def example_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def conventional_epochs(root: Path, seed: int):
    """The example's loop, one epoch per ``next()``: yields that epoch's figures.

    It keeps a random state of its own, swapped in while it runs (``fork_rng`` puts the
    caller's back), so interleaving it with the course's run changes neither run's noise.
    """
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    tf = transforms.ToTensor()
    train_loader = torch.utils.data.DataLoader(
        datasets.MNIST(root, train=True, download=False, transform=tf), batch_size=BATCH, shuffle=True)
    test_loader = torch.utils.data.DataLoader(
        datasets.MNIST(root, train=False, download=False, transform=tf), batch_size=BATCH)
    model = ExampleVAE()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    own_state = torch.get_rng_state()
    while True:
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(own_state)
            start = time.perf_counter()
            model.train()
            for x, _ in train_loader:
                opt.zero_grad()
                recon, mu, logvar = model(x)
                loss = example_loss(recon, x, mu, logvar)
                loss.backward()
                opt.step()
            train_seconds = time.perf_counter() - start
            start = time.perf_counter()
            model.eval()
            total = 0.0
            with torch.no_grad():
                for x, _ in test_loader:
                    recon, mu, logvar = model(x)
                    total += example_loss(recon, x, mu, logvar).item()
            own_state = torch.get_rng_state()
        yield {"train_seconds": train_seconds, "test_seconds": time.perf_counter() - start,
               "test_loss": total / len(test_loader.dataset)}


def run_interleaved(root: Path, epochs: int, seed: int) -> dict:
    """Both paths, epoch by epoch in turn, with the compute floor measured between them.

    A shared machine speeds up and slows down from minute to minute; taking the two paths
    and the floor in turns exposes all three to the same conditions, so the ratios hold
    even when the absolute seconds drift.
    """
    start = time.perf_counter()
    x_train, _ = data.load("train", root=root)
    x_test, _ = data.load("test", root=root)
    load_seconds = time.perf_counter() - start
    conventional = conventional_epochs(root, seed)
    conv = {"train_seconds": [], "test_seconds": [], "test_loss": []}
    floors = []

    def between(epoch: int, h: dict) -> None:
        print(f"  epoch {epoch:>2}: course train {h['seconds'][-1]:.2f} s + test "
              f"{h['test_seconds'][-1]:.2f} s, loss {h['test_loss'][-1]:.2f}", end="", flush=True)
        floors.append(compute_floor())
        for key, value in next(conventional).items():
            conv[key].append(value)
        print(f" | conventional train {conv['train_seconds'][-1]:.2f} s + test "
              f"{conv['test_seconds'][-1]:.2f} s, loss {conv['test_loss'][-1]:.2f}"
              f" | floor {floors[-1]['seconds_per_epoch']:.2f} s", flush=True)

    train.set_seed(seed)
    model = VAE(ModelConfig(hidden=SIZES[1:2], latent_dim=SIZES[2]))
    h = train.fit(model, x_train, epochs=epochs, batch_size=BATCH, lr=LR, seed=seed,
                  x_test=x_test, progress=False, on_epoch=between)
    course = {"train_seconds": h["seconds"], "test_seconds": h["test_seconds"],
              "test_loss": h["test_loss"], "load_seconds": load_seconds}
    return {"conventional": conv, "course": course, "floors": floors}


def time_to(result: dict, target: float) -> float | None:
    """Wall time (training + evaluation, cumulative) until the test loss first reaches ``target``."""
    elapsed = result.get("load_seconds", 0.0)
    for tr, te, loss in zip(result["train_seconds"], result["test_seconds"], result["test_loss"]):
        elapsed += tr + te
        if loss <= target:
            return elapsed
    return None


# ---- the compute floor ---------------------------------------------------------------------

def _time_mm(m: int, k: int, n: int, repeat: int = 50) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(5):
        a @ b
    start = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return (time.perf_counter() - start) / repeat


def compute_floor(n_train: int = 60_000, n_test: int = 10_000, repeat: int = 30) -> dict:
    """Seconds per epoch that the model's matrix multiplies alone need on this machine.

    Every Linear layer (in -> out) costs, per batch of B: the forward product (B x in) @ (in x out),
    the weight gradient (in x B) @ (B x out) and, except for the first layer, the input
    gradient (B x out) @ (out x in). Each is timed at its real shape; the test set needs
    forward products only.
    """
    layers = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]
    first = {0}
    per_batch = per_test_batch = flops_batch = 0.0
    for i, (k, n) in enumerate(layers):
        fwd = _time_mm(BATCH, k, n, repeat)
        per_batch += (fwd + _time_mm(k, BATCH, n, repeat)
                      + (0 if i in first else _time_mm(BATCH, n, k, repeat)))
        per_test_batch += fwd
        flops_batch += 2 * BATCH * k * n * (2 if i in first else 3)
    n_batches, n_test_batches = -(-n_train // BATCH), -(-n_test // BATCH)
    seconds = per_batch * n_batches + per_test_batch * n_test_batches
    return {"seconds_per_epoch": seconds, "gflop_per_epoch": flops_batch * n_batches / 1e9,
            "gflops_measured": flops_batch / per_batch / 1e9}


# ---- notebooks ---------------------------------------------------------------------------------

def time_notebooks(root: Path, timeout: int = 900, only: list[str] | None = None) -> list[dict]:
    import nbformat
    from nbclient import NotebookClient

    rows = []
    for path in sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb")):
        if only and not any(path.stem.startswith(prefix) for prefix in only):
            continue
        with tempfile.TemporaryDirectory() as cache:
            os.environ["VAE_COURSE_CACHE"] = cache
            os.environ["VAE_COURSE_DATA"] = str(root)
            row = {"notebook": path.stem}
            for state in ("cold", "warm"):
                nb = nbformat.read(path, as_version=4)
                client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                        resources={"metadata": {"path": str(path.parent)}})
                start = time.perf_counter()
                client.execute()
                row[state] = time.perf_counter() - start
            print(f"  {path.stem}: cold {row['cold']:.1f} s, warm {row['warm']:.1f} s", flush=True)
            rows.append(row)
    return rows


def plot(results: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for name in ("conventional", "course"):
        r = results[name]
        t, elapsed = [], r.get("load_seconds", 0.0)
        for tr, te in zip(r["train_seconds"], r["test_seconds"]):
            elapsed += tr + te
            t.append(elapsed)
        ax.plot(t, r["test_loss"], marker="o", label=name)
    for target in TARGETS:
        ax.axhline(target, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("test loss (nats per image)")
    ax.set_title("reference VAE 784-400-20, batch 128, Adam 1e-3")
    ax.legend()
    fig.savefig(path, dpi=100)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="epochs of each path (default 10)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(),
                   help="torch threads for both paths (default: what torch uses here)")
    p.add_argument("--seed", type=int, default=1, help="seed of both runs (default 1)")
    p.add_argument("--skip-notebooks", action="store_true",
                   help="do not time the solution notebooks")
    p.add_argument("--only-notebooks", nargs="*", metavar="NN",
                   help="time only the solution notebooks (those whose names start with NN, "
                        "e.g. 06 07; all when none is given), without the training paths")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results",
                   help="folder for train_speed.json and train_speed.png")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    root = data.ensure("mnist")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} with {args.threads} threads", flush=True)
    results = {"threads": args.threads, "torch": torch.__version__, "epochs": args.epochs}
    if args.only_notebooks is not None:
        print("solution notebooks on a fresh kernel:", flush=True)
        rows = time_notebooks(root, only=args.only_notebooks)
        print(f"  these notebooks, cold: {sum(r['cold'] for r in rows):.1f} s")
        return 0
    print("the two paths in turn, with the compute floor between them:", flush=True)
    results.update(run_interleaved(root, args.epochs, args.seed))
    conv, course, floors = results["conventional"], results["course"], results["floors"]

    def epoch_seconds(r: dict) -> list[float]:
        return [tr + te for tr, te in zip(r["train_seconds"], r["test_seconds"])]

    floor_s = [f["seconds_per_epoch"] for f in floors]
    speedups = [a / b for a, b in zip(epoch_seconds(conv), epoch_seconds(course))]
    course_floor = [a / b for a, b in zip(epoch_seconds(course), floor_s)]
    conv_floor = [a / b for a, b in zip(epoch_seconds(conv), floor_s)]
    per_epoch = {k: median(epoch_seconds(r)) for k, r in (("conventional", conv), ("course", course))}
    floor = {"seconds_per_epoch": median(floor_s),
             "gflop_per_epoch": floors[0]["gflop_per_epoch"],
             "gflops_measured": median([f["gflops_measured"] for f in floors])}
    results["floor"] = floor
    summary = {
        "seconds_per_epoch": per_epoch,
        "speedup_per_epoch": median(speedups),
        "speedup_range": [min(speedups), max(speedups)],
        "floor_seconds_per_epoch": floor["seconds_per_epoch"],
        "course_over_floor": median(course_floor),
        "course_over_floor_range": [min(course_floor), max(course_floor)],
        "conventional_over_floor": median(conv_floor),
        "final_test_loss": {"conventional": conv["test_loss"][-1], "course": course["test_loss"][-1]},
        "time_to": {str(t): {"conventional": time_to(conv, t), "course": time_to(course, t)}
                    for t in TARGETS},
    }
    results["summary"] = summary

    print("\nsummary")
    print(f"  seconds per epoch (train + test, median): conventional "
          f"{per_epoch['conventional']:.2f}, course {per_epoch['course']:.2f}")
    print(f"  course faster per epoch, epoch by epoch: median {summary['speedup_per_epoch']:.2f}x "
          f"(from {min(speedups):.2f}x to {max(speedups):.2f}x)")
    print(f"  train / test seconds per epoch (median): conventional "
          f"{median(conv['train_seconds']):.2f} / {median(conv['test_seconds']):.2f}, "
          f"course {median(course['train_seconds']):.2f} / {median(course['test_seconds']):.2f}")
    print(f"  compute floor: {floor['seconds_per_epoch']:.2f} s per epoch "
          f"({floor['gflop_per_epoch']:.0f} GFLOP at {floor['gflops_measured']:.0f} GFLOP/s); "
          f"course is {summary['course_over_floor']:.2f}x the floor (from {min(course_floor):.2f}x "
          f"to {max(course_floor):.2f}x), conventional {summary['conventional_over_floor']:.2f}x")
    print(f"  final test loss: conventional {conv['test_loss'][-1]:.2f}, course {course['test_loss'][-1]:.2f}")
    for t in TARGETS:
        times = summary["time_to"][str(t)]
        fmt = {k: "not reached" if v is None else f"{v:.1f} s" for k, v in times.items()}
        ratio = (f" ({times['conventional'] / times['course']:.2f}x)"
                 if None not in times.values() else "")
        print(f"  time to test loss <= {t}: conventional {fmt['conventional']}, "
              f"course {fmt['course']}{ratio}")

    reached = summary["time_to"]["105.6"]["course"]
    if reached is not None:
        print(f"  course reaches 105.6 in {reached:.1f} s, {reached / REFERENCE_TEN_EPOCHS_S:.2f} of "
              f"the {REFERENCE_TEN_EPOCHS_S:.0f} s that the reference example's 10 epochs took "
              f"on a 2-core machine")

    if not args.skip_notebooks:
        print("\nsolution notebooks on a fresh kernel:", flush=True)
        results["notebooks"] = time_notebooks(root)
        total = sum(r["cold"] for r in results["notebooks"])
        print(f"  all notebooks, cold: {total:.1f} s")

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train_speed.json").write_text(json.dumps(results, indent=2))
    plot(results, args.out / "train_speed.png")
    print(f"\nwrote {args.out / 'train_speed.json'} and {args.out / 'train_speed.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
