"""The course as an installed wheel, the way a JupyterHub or Colab gets it.

The wheel is built from this repository (offline: ``pip wheel --no-deps
--no-build-isolation``) and installed with ``--no-deps`` into a new virtual environment
made without the system's or this environment's packages. Installing torch and the
other dependencies again would take minutes and a network, so that environment gets one
``.pth`` line pointing at this environment's site-packages, for the dependencies only:
``.pth`` files found there are not run, so this checkout's editable install of
``vae_course`` stays invisible, and the tests check that ``vae_course`` is imported
from the new environment. There, ``vae-course notebooks`` copies the notebooks for a
student, and one of them runs from that copy, on a fresh kernel of that environment,
up to its first exercise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
DATA = os.environ.get("VAE_COURSE_DATA")

pytestmark = pytest.mark.slow


def clean_env(**extra) -> dict[str, str]:
    """This environment without anything that could import the checkout's vae_course."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH", "VIRTUAL_ENV")}
    return {**env, "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg", **extra}


def run(cmd, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                         env=kw.pop("env", clean_env()), **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.fail("building the wheel offline needs setuptools (it is in the [test] extra)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # what a clean checkout holds: no build/ or .egg-info left over
    src.mkdir()
    for name in ("pyproject.toml", "README.md", *(p.name for p in REPO.glob("LICENSE*"))):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for folder in ("vae_course", "notebooks"):
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", tmp / "dist", src], cwd=tmp)
    (built,) = (tmp / "dist").glob("vae_course-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("venv") / "env"
    run([sys.executable, "-m", "venv", "--without-pip", home])
    python = home / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
               ).stdout.strip()
    (Path(site) / "_course_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--no-index", wheel])
    return home


def test_the_wheel_carries_the_student_notebooks_as_they_are(wheel):
    assert NOTEBOOKS, "notebooks/ holds no notebooks"
    with zipfile.ZipFile(wheel) as whl:
        packed = {Path(n).name: whl.read(n) for n in whl.namelist()
                  if n.startswith("vae_course/_notebooks/") and n.endswith(".ipynb")}
    assert sorted(packed) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        assert packed[path.name] == path.read_bytes(), f"{path.name} differs in the wheel"


def test_vae_course_comes_from_the_new_environment(venv, tmp_path):
    out = run([venv / "bin" / "python", "-c",
               "import vae_course, vae_course.tools.notebooks as n; "
               "print(vae_course.__file__); print(n.notebook_source())"], cwd=tmp_path)
    package, source = out.stdout.split()
    assert Path(package).is_relative_to(venv), package
    assert Path(source) == Path(package).parent / "_notebooks"


def test_notebooks_command_copies_and_never_overwrites(venv, tmp_path):
    target = tmp_path / "course" / "mine"  # created, parents too
    out = run([venv / "bin" / "vae-course", "notebooks", target], cwd=tmp_path)
    assert sorted(p.name for p in target.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert f"{len(NOTEBOOKS)} copied, 0 skipped" in out.stdout
    work = target / NOTEBOOKS[0].name
    work.write_text("a student's work")
    (target / NOTEBOOKS[1].name).unlink()
    out = run([venv / "bin" / "vae-course", "notebooks", target], cwd=tmp_path)
    assert work.read_text() == "a student's work"
    assert f"skipped  {work.name}: it is already in {target}" in out.stdout
    assert f"copied   {NOTEBOOKS[1].name}" in out.stdout
    assert f"1 copied, {len(NOTEBOOKS) - 1} skipped" in out.stdout


DRIVER = textwrap.dedent("""
    import json, sys
    import nbformat
    from nbclient import NotebookClient

    path = sys.argv[1]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=300,
                            store_widget_state=False, resources={"metadata": {"path": "."}})
    runs = []
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, i)
            errors = [o for o in cell.outputs if o.output_type == "error"]
            text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                           for o in cell.outputs)  # printed, or a check's result shown
            runs.append({"cell": i, "error": errors[0]["ename"] if errors else None,
                         "not_done": "not done yet" in text.lower(), "source": cell.source})
            if errors or runs[-1]["not_done"]:
                break  # the first exercise: its function raises, or its check says not done
        which = nbformat.v4.new_code_cell(
            "import sys, vae_course; print(sys.executable); print(vae_course.__file__)")
        nb.cells.append(which)
        client.execute_cell(which, len(nb.cells) - 1)
    print(json.dumps({"runs": runs, "kernel": which.outputs[0]["text"].split()}))
""")


def test_a_student_notebook_runs_from_the_copy_up_to_its_first_exercise(venv, tmp_path):
    assert DATA, "set VAE_COURSE_DATA to a folder holding the course data (MNIST/raw/...)"
    target = tmp_path / "student"
    run([venv / "bin" / "vae-course", "notebooks", target], cwd=tmp_path)
    (tmp_path / "driver.py").write_text(DRIVER)
    first = NOTEBOOKS[0].name
    env = clean_env(VAE_COURSE_DATA=DATA, VAE_COURSE_CACHE=str(tmp_path / "cache"),
                    TQDM_DISABLE="1")
    out = run([venv / "bin" / "python", tmp_path / "driver.py", first], cwd=target, env=env,
              timeout=900)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    executable, package = result["kernel"]
    assert Path(executable).parent == venv / "bin", executable  # a kernel of the new environment
    assert Path(package).is_relative_to(venv), package
    *before, last = result["runs"]
    for r in before:
        assert r["error"] is None, f"{first}, cell {r['cell']} raised {r['error']}:\n{r['source']}"
    assert last["error"] == "NotImplementedError" or (last["error"] is None and last["not_done"]), \
        f"{first} did not stop at an exercise: {last}"
    assert len(before) >= 2 and "import vae_course" in before[0]["source"]  # it ran a while


def test_lab_outside_a_checkout_points_to_the_notebooks_command(venv, tmp_path):
    out = subprocess.run([venv / "bin" / "vae-course", "lab", "--dry-run", "--no-data"],
                         cwd=tmp_path, capture_output=True, text=True, env=clean_env())
    assert out.returncode == 2
    assert "`vae-course notebooks DIR`" in out.stderr and "Traceback" not in out.stderr
