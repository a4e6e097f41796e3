"""The two dependency lists (pyproject.toml, environment.yml) agree, and what sets the course
up works: course.py, the wheel's configuration, the notebooks' first cell. The commands of
`vae-course` are tested in tests/tools/, each with its module."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import pytest

REPO = Path(__file__).resolve().parents[2]
STUDENT_NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# conda-forge spells a few packages differently from PyPI
CONDA_NAMES = {"torch": "pytorch"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].strip().lower()


def _bounds(req: str) -> str:
    return req[len(_name(req)):].strip()


def test_environment_yml_matches_pyproject(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    pip_reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    env = yaml.safe_load((repo / "environment.yml").read_text())
    conda = {_name(d): _bounds(d) for d in env["dependencies"] if isinstance(d, str)}
    for req in pip_reqs:
        name = CONDA_NAMES.get(_name(req), _name(req))
        assert name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        assert conda[name] == _bounds(req), f"{name}: {conda[name]!r} vs {_bounds(req)!r}"
    extra = set(conda) - {CONDA_NAMES.get(_name(r), _name(r)) for r in pip_reqs} - {"python", "pip"}
    assert not extra, f"environment.yml has packages pyproject.toml lacks: {extra}"
    pip_section = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert "-e ." in pip_section  # the course package itself


def test_dependencies_have_lower_bounds_not_pins(repo):
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert ">=" in req and "==" not in req, req


def test_torch_range_admits_the_tested_versions(repo):
    from packaging.requirements import Requirement

    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    reqs = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    assert "2.14.1" in reqs["torch"].specifier and "0.29.1" in reqs["torchvision"].specifier


def _course_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_script", REPO / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_course_script_dispatches_its_three_commands(monkeypatch, capsys):
    course = _course_script()
    calls = []
    monkeypatch.setattr(course, "setup", lambda extra: Path("/venv/bin/python"))
    monkeypatch.setattr(course, "ensure_chromium", lambda: None)
    monkeypatch.setattr(course.subprocess, "call", lambda cmd, cwd=None: calls.append(cmd) or 0)
    assert course.main(["lab", "--no-browser"]) == 0
    assert course.main(["test", "-k", "losses"]) == 0
    assert course.main(["bench", "--epochs", "2"]) == 0
    assert calls[0][1:] == ["-m", "vae_course", "lab", "--no-browser"]
    assert calls[1][1:] == ["-m", "pytest", "-k", "losses"]
    assert calls[2][1] == str(REPO / "benchmarks" / "train_speed.py") and calls[2][2:] == ["--epochs", "2"]
    assert course.main([]) == 2 and course.main(["serve"]) == 2
    assert "course.py bench" in capsys.readouterr().out


def first_code_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=[p.stem for p in STUDENT_NOTEBOOKS])
def test_first_cell_without_vae_course_says_how_to_install_it(path, tmp_path):
    # -S: no site-packages at all, so neither vae_course nor torch can be imported; the
    # folder is empty, so the checkout's vae_course is not found either.
    out = subprocess.run([sys.executable, "-S", "-c", first_code_cell(path)], cwd=tmp_path,
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith("vae_course is not installed in this kernel: install the course's wheel")
    assert "restart the kernel" in lines[0]


def test_wheel_configuration_ships_the_notebooks_folder(repo):
    tool = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "vae_course._notebooks" in tool["packages"]
    assert tool["package-dir"]["vae_course._notebooks"] == "notebooks"
    assert tool["package-data"]["vae_course._notebooks"] == ["*.ipynb"]
    assert not (repo / "vae_course" / "_notebooks").exists()  # one source: notebooks/
