"""`vae-course doctor` on this installation, on a broken data folder and on a missing one."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

import pytest
import torch

from vae_course.tools import cli, doctor
from vae_course.data import raw_files

DATA = os.environ.get("VAE_COURSE_DATA")


def run_doctor(capsys, monkeypatch, data: Path, cache: Path) -> str:
    monkeypatch.setenv("VAE_COURSE_DATA", str(data))
    monkeypatch.setenv("VAE_COURSE_CACHE", str(cache))
    assert cli.main(["doctor"]) == 0  # also when it finds problems
    return capsys.readouterr().out


def test_a_good_installation(capsys, monkeypatch, tmp_path):
    assert DATA and raw_files("mnist", DATA)[0].exists(), \
        "set VAE_COURSE_DATA to a folder holding the course data (MNIST/raw/...)"
    out = run_doctor(capsys, monkeypatch, Path(DATA), tmp_path)
    assert platform.python_version() in out
    for dist in ("torch", "torchvision", "jupyterlab", "ipywidgets", "jupyterlab_widgets"):
        assert f"{dist} " in out and metadata.version(dist) in out
    assert "widget extension" in out
    assert f"data folder         {DATA} (from VAE_COURSE_DATA)" in out
    assert "MNIST               ok (4 files, checksums verified)" in out
    assert str(tmp_path) in out
    expected = "cuda" if torch.cuda.is_available() else "cpu: the notebooks compute on the CPU"
    assert f"course device       {expected}" in out
    assert f"student notebooks   {len(list(Path('notebooks').glob('*.ipynb')))} in " in out
    assert "No problems found." in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="a working GPU passes the computation")
def test_a_gpu_that_fails_a_computation_is_a_problem_with_a_fix(monkeypatch):
    # torch is told CUDA is there; computing on it then fails for real (no GPU, no driver).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Some GPU")
    finding = doctor.device_finding()
    assert finding.value == "cuda, but it fails"
    assert "a small computation on it failed" in finding.problem
    assert "CUDA_VISIBLE_DEVICES" in finding.fix


def test_a_damaged_data_folder_is_reported_with_what_to_do(capsys, monkeypatch, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\0" * 1000)
    out = run_doctor(capsys, monkeypatch, tmp_path / "data", tmp_path / "cache")
    assert "MNIST               damaged   <-- problem" in out
    assert "train-images-idx3-ubyte has 1,000 bytes" in out
    assert "vae-course data --dataset mnist" in out
    assert "problems found:" in out and "What to do:" in out


def test_a_missing_data_folder_is_reported_with_what_to_do(capsys, monkeypatch, tmp_path):
    out = run_doctor(capsys, monkeypatch, tmp_path / "nowhere", tmp_path / "cache")
    assert f"MNIST not found under {tmp_path / 'nowhere'}" in out
    assert "set VAE_COURSE_DATA" in out
    assert not (tmp_path / "nowhere").exists()  # the doctor changes nothing


def test_a_cache_that_cannot_be_a_folder_is_a_problem(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    finding = doctor.cache_finding(str(blocker / "models"))
    assert "not a writable folder" in finding.problem and "VAE_COURSE_CACHE" in finding.fix


@pytest.mark.parametrize("torch, vision, ok", [
    ("2.14.1", "0.29.1", True), ("2.1.0+cpu", "0.16.0+cpu", True),
    ("2.14.1", "0.28.0", False), ("2.5.0", "0.21.0", False)])
def test_torchvision_must_match_torch(torch, vision, ok):
    assert (doctor.torchvision_problem(torch, vision) == "") is ok


def test_widget_versions_must_match():
    assert doctor.widget_problems("8.1.9", "3.0.17", "5.0.16") == []
    assert doctor.widget_problems("7.8.0", "1.1.0", "3.0.0") == []
    problems = doctor.widget_problems("8.1.9", "1.1.7", None)
    assert len(problems) == 2
    assert "jupyterlab_widgets 1.1.7 does not match" in problems[0]
    assert "IntSlider(...)" in problems[1]
    assert "not installed" in doctor.widget_problems(None, None, None)[0]


def test_packages_below_the_minimum_are_problems():
    found = doctor.below_minimum(
        ["torch>=2.1", "jupyterlab>=4.0", "ipywidgets>=8.0", 'pytest>=7.4; extra == "test"'],
        {"torch": "2.0.1", "jupyterlab": "4.6.6", "ipywidgets": None, "pytest": None})
    assert [(f.label, bool(f.problem)) for f in found] == [("torch", True), ("ipywidgets", True)]
    assert "torch 2.0.1 is too old" in found[0].problem and "pip install" in found[0].fix
