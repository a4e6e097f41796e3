"""``vae-course doctor``: one screen about this installation, to paste to the instructor.

It reports Python, torch/torchvision (and CUDA), the device the notebooks will compute
on (a GPU is tried with one small computation), JupyterLab, ipywidgets and the
JupyterLab widget extension (flagging mismatched versions), the student notebooks this
installation carries, where the data is and whether it checks out, and the model
cache; then, for each problem found, what to do.
It never changes anything, and exits 0 even when it finds problems.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

WIDGET_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
# ipywidgets major -> (jupyterlab_widgets major, widget extension major) made for it
WIDGET_MAJORS = {8: (3, 5), 7: (1, 3)}
PYTHON_NAMES = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
REINSTALL = "reinstall the course in this environment: `python3 course.py lab` or `pip install -e .`"


@dataclass
class Finding:
    """One line of the report, and the problem it shows (if any) with its fix."""

    label: str
    value: str
    problem: str = ""
    fix: str = ""


def version_of(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


# ---- pure checks (versions in, problems out) ---------------------------------------

def below_minimum(requirements: list[str], installed: dict[str, str | None]) -> list[Finding]:
    """Problems for required packages that are missing or older than the lower bound.

    Args:
        requirements: requirement strings, e.g. ``["torch>=2.1"]`` (extras are skipped).
        installed: distribution name -> installed version (None when missing).
    """
    found = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None:  # e.g. `extra == "test"`
            continue
        have = installed.get(req.name)
        if have is None:
            found.append(Finding(req.name, "missing", f"{req.name} is not installed",
                                 f"{REINSTALL}, or `pip install '{text}'`."))
        elif not req.specifier.contains(have, prereleases=True):
            found.append(Finding(req.name, have, f"{req.name} {have} is too old (the course "
                                 f"needs {req.specifier})", f"`pip install --upgrade '{text}'`."))
    return found


def _major_minor(version: str) -> tuple[int, int]:
    try:
        release = Version(version).release
    except InvalidVersion:
        return (-1, -1)
    return (release + (0, 0))[:2]


def torchvision_problem(torch: str, torchvision: str) -> str:
    """Why ``torchvision`` does not fit ``torch`` (torch 2.N goes with torchvision 0.N+15), or ''."""
    t_major, t_minor = _major_minor(torch)
    v_major, v_minor = _major_minor(torchvision)
    if t_major != 2 or (v_major, v_minor) == (0, t_minor + 15):
        return ""
    return (f"torchvision {torchvision} does not match torch {torch} "
            f"(torch 2.{t_minor} goes with torchvision 0.{t_minor + 15})")


def widget_problems(ipywidgets: str | None, lab_widgets: str | None,
                    extension: str | None) -> list[str]:
    """Mismatches between ipywidgets, jupyterlab_widgets and the JupyterLab widget extension."""
    if ipywidgets is None:
        return ["ipywidgets is not installed, so the interactive widgets cannot work"]
    want = WIDGET_MAJORS.get(_major_minor(ipywidgets)[0])
    if want is None:
        return []
    problems = []
    if lab_widgets is None:
        problems.append("jupyterlab_widgets (the widget extension's package) is not installed")
    elif _major_minor(lab_widgets)[0] != want[0]:
        problems.append(f"jupyterlab_widgets {lab_widgets} does not match ipywidgets {ipywidgets} "
                        f"(which needs jupyterlab_widgets {want[0]}.x)")
    if extension is None:
        problems.append(f"JupyterLab has no widget extension ({WIDGET_EXTENSION}): widgets "
                        f"show as text such as `IntSlider(...)`")
    elif _major_minor(extension)[0] != want[1]:
        problems.append(f"the JupyterLab widget extension {extension} does not match ipywidgets "
                        f"{ipywidgets} (which needs extension {want[1]}.x)")
    return problems


# ---- looking at this installation --------------------------------------------------

def widget_extension() -> tuple[str | None, Path | None]:
    """(version, folder) of the widget extension JupyterLab would load, or (None, None)."""
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("labextensions"):
        package = Path(base) / WIDGET_EXTENSION / "package.json"
        if package.is_file():
            try:
                return json.loads(package.read_text())["version"], package.parent
            except (ValueError, KeyError, OSError):
                return "unreadable", package.parent
    return None, None


def software() -> list[Finding]:
    """Python and the packages the course needs, with torch's CUDA and the widget stack."""
    found = [Finding("system", f"{platform.system()} {platform.release()} {platform.machine()}"),
             Finding("python", f"{platform.python_version()} ({sys.executable})")]
    if sys.version_info < (3, 11):
        found[-1].problem, found[-1].fix = ("Python 3.11 or newer is needed",
                                            "install a newer Python and run `python3 course.py lab`.")
    course = version_of("vae-course")
    found.append(Finding("vae-course", f"{course or 'not installed'} ({Path(__file__).resolve().parents[1]})"))
    torch_v, vision_v = version_of("torch"), version_of("torchvision")
    found.append(Finding("torch", f"{torch_v or 'missing'}, {accelerator()}"))
    if torch_v:
        found.append(device_finding())
    found.append(Finding("torchvision", vision_v or "missing"))
    if torch_v and vision_v and torchvision_problem(torch_v, vision_v):
        found[-1].problem = torchvision_problem(torch_v, vision_v)
        found[-1].fix = "install both together: `pip install --upgrade torch torchvision`."
    lab_widgets = version_of("jupyterlab_widgets")
    ext_version, ext_folder = widget_extension()
    found += [Finding("jupyterlab", version_of("jupyterlab") or "missing"),
              Finding("ipywidgets", version_of("ipywidgets") or "missing"),
              Finding("jupyterlab_widgets", lab_widgets or "missing"),
              Finding("widget extension", f"{ext_version} ({ext_folder})" if ext_version
                      else "not found")]
    for problem in widget_problems(version_of("ipywidgets"), lab_widgets, ext_version):
        found.append(Finding("widgets", "mismatch", problem,
                             "`pip install --upgrade ipywidgets jupyterlab_widgets`, then restart "
                             "JupyterLab and reload the browser page."))
    if course:
        required = metadata.requires("vae-course") or []
        installed = {Requirement(r).name: version_of(Requirement(r).name) for r in required}
        found += below_minimum(required, installed)
    found.append(kernel())
    found.append(notebooks_finding())
    return found


def device_finding() -> Finding:
    """The device ``train.get_device()`` picks for the notebooks, tried with a small computation."""
    try:
        import torch

        from ..train import get_device
        device = get_device()
        if device.type != "cuda":
            return Finding("course device", f"{device.type}: the notebooks compute on the CPU")
        name = torch.cuda.get_device_name(device)
        x = torch.ones(64, 64, device=device)
        ok = float((x @ x).sum().cpu()) == 64.0 ** 3
    except Exception as exc:  # an old driver, a busy or broken GPU, a broken torch
        return Finding("course device", "cuda, but it fails",
                       f"PyTorch sees a CUDA GPU, but a small computation on it failed "
                       f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                       "update the GPU driver to one that supports this torch's CUDA, or use "
                       "the CPU: `export CUDA_VISIBLE_DEVICES=\"\"` before starting JupyterLab.")
    if not ok:
        return Finding("course device", f"{device} ({name}), wrong results",
                       "a small computation on the GPU gave a wrong result",
                       "use the CPU: `export CUDA_VISIBLE_DEVICES=\"\"` before starting "
                       "JupyterLab, and tell your instructor which GPU this is.")
    return Finding("course device", f"{device} ({name}): the notebooks train and decode on the "
                   f"GPU; cached models load on a CPU or a GPU alike")


def notebooks_finding() -> Finding:
    """Which student notebooks this installation carries (what `vae-course notebooks` copies)."""
    from .notebooks import notebook_source, student_notebooks

    source = notebook_source()
    if source is None:
        return Finding("student notebooks", "none", "this installation carries no student "
                       "notebooks", f"{REINSTALL}; in a checkout, `vae-course build` makes them.")
    return Finding("student notebooks", f"{len(student_notebooks(source))} in {source} "
                   f"(`vae-course notebooks DIR` copies them)")


def accelerator() -> str:
    try:
        import torch
    except Exception as exc:  # a broken install raises many kinds of errors
        return f"cannot be imported ({type(exc).__name__}: {exc})"
    if torch.cuda.is_available():
        return f"CUDA {torch.version.cuda}, GPU: {torch.cuda.get_device_name(0)}"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "Apple GPU (MPS) available"
    cuda = f"built with CUDA {torch.version.cuda}, but no GPU found" if torch.version.cuda else \
        "CPU only"
    return f"{cuda} (fine: the course runs on a CPU)"


def kernel() -> Finding:
    """Which Python JupyterLab's default kernel runs."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        argv = KernelSpecManager().get_kernel_spec("python3").argv
    except Exception as exc:  # no kernelspec at all, or a broken one
        return Finding("kernel python3", "not found", f"no python3 Jupyter kernel ({exc})",
                       "`python -m ipykernel install --user`, from this environment.")
    python = argv[0]
    if Path(python).name in PYTHON_NAMES or Path(python) == Path(sys.executable):
        return Finding("kernel python3", "the Python that runs JupyterLab")
    return Finding("kernel python3", python, "JupyterLab's python3 kernel runs another Python, "
                   "which may not have the course installed",
                   "start JupyterLab with `vae-course lab` from this environment, or run "
                   "`python -m ipykernel install --user --name vae-course` and pick that kernel.")


def data_findings(root: str | None = None) -> list[Finding]:
    """Where the data is, and whether each data set's files check out (read-only)."""
    try:
        from .. import data
    except Exception as exc:  # torch broken: the data module needs it
        return [Finding("data", "not checked", f"vae_course.data cannot be imported ({exc})",
                        "fix torch first (see above).")]
    folder = data.data_root(root)
    source = ("--data-root" if root else f"from {data.ENV_DATA}" if os.environ.get(data.ENV_DATA)
              else f"the default; set {data.ENV_DATA} to use another")
    found = [Finding("data folder", f"{folder} ({source})")]
    for name, info in data.DATASETS.items():
        problems = {p: data.check_file(p, name) for p in data.raw_files(name, folder)}
        bad = {p: err for p, err in problems.items() if err}
        if not bad:
            found.append(Finding(info.folder, f"ok ({len(problems)} files, checksums verified)"))
        elif all(err == "missing" for err in bad.values()):
            found.append(Finding(info.folder, "missing", f"{info.folder} not found under {folder}",
                                 f"run `vae-course data --dataset {name}` (needs a network), or "
                                 f"copy a good {info.folder} folder there, or set "
                                 f"{data.ENV_DATA} to the folder that holds it."))
        else:
            lines = "; ".join(f"{p.name} {err}" for p, err in bad.items())
            found.append(Finding(info.folder, "damaged", f"{info.folder} under {folder}: {lines}",
                                 f"delete {folder / info.folder / 'raw'} and run `vae-course data "
                                 f"--dataset {name}`, or copy a good folder over it."))
    return found


def cache_finding(folder: str | None = None) -> Finding:
    """The model cache: where, how full, and whether it can be written (read-only check)."""
    try:
        from ..train import ENV_CACHE, cache_dir
    except Exception as exc:
        return Finding("model cache", "not checked", f"vae_course.train cannot be imported ({exc})",
                       "fix torch first (see above).")
    path = cache_dir(folder)
    source = f"from {ENV_CACHE}" if os.environ.get(ENV_CACHE) and not folder else "default"
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        return Finding("model cache", f"{path} ({source})", f"{existing} is not a writable folder, so "
                       f"trained models cannot be kept", f"set {ENV_CACHE} to a folder you can "
                       f"write to, e.g. `export {ENV_CACHE}=~/vae-cache`.")
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    size = sum(p.stat().st_size for p in files) / 1e6
    return Finding("model cache", f"{path} ({source}): {len(files)} files, {size:.1f} MB")


def report(findings: list[Finding]) -> str:
    """The screen: one line per finding, then each problem with what to do."""
    width = max(len(f.label) for f in findings)
    lines = ["vae-course doctor: copy everything below and send it to your instructor.", ""]
    lines += [f"  {f.label.ljust(width)}  {f.value}" + ("   <-- problem" if f.problem else "")
              for f in findings]
    problems = [f for f in findings if f.problem]
    lines.append("")
    if not problems:
        lines.append("No problems found.")
    else:
        lines.append(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found:")
        for n, f in enumerate(problems, 1):
            lines += [f"  {n}. {f.problem}.", f"     What to do: {f.fix}"]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", help="check this data folder instead of the usual one")


def run(args: argparse.Namespace) -> int:
    findings = software() + data_findings(args.data_root) + [cache_finding()]
    print(report(findings))
    return 0
