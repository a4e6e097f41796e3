"""How long one widget update takes on this machine: decoding one latent point, and the whole
latent-explorer update (decode + picture + PNG + marker on the scatter). Prints milliseconds.

    VAE_COURSE_DATA=... python benchmarks/widget_latency.py
"""

import statistics
import time

import torch

from vae_course import data
from vae_course.interactive.explorers import decode_point
from vae_course import zoo
from vae_course.interactive import latent_explorer


def per_call_ms(fn, n: int = 300) -> tuple[float, float]:
    """Median and 95th percentile of ``fn()`` in milliseconds, after a warm-up."""
    for _ in range(20):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * len(times))]


def main() -> None:
    vae, _ = zoo.load("vae", device="cpu", progress=False)
    x, y = data.load("test")
    explorer = latent_explorer(vae, x[:2000], y[:2000])
    z1 = explorer.controls["z1"]
    values = torch.linspace(z1.min, z1.max, 50).tolist()
    state = {"i": 0}

    def move():  # what one slider move costs in the kernel
        state["i"] = (state["i"] + 1) % len(values)
        z1.value = values[state["i"]]

    for name, fn in [("decode one point (decode_point)", lambda: decode_point(vae.decode, [0.3, -0.7])),
                     ("whole slider update (decode + PNGs + marker)", move)]:
        median, p95 = per_call_ms(fn)
        print(f"{name}: median {median:.2f} ms, 95th percentile {p95:.2f} ms (target <= 20 ms)")


if __name__ == "__main__":
    main()
