"""`vae-course data` (vae_course.tools.datasets): verify the data, or say what is missing."""

import subprocess
import sys


def test_data_command_verifies_the_data():
    out = subprocess.run([sys.executable, "-m", "vae_course", "data", "--no-download"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "ok: mnist" in out.stdout and "ok: fashion-mnist" in out.stdout


def test_data_command_reports_missing_data(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vae_course", "data", "--no-download",
                          "--root", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1
    assert str(tmp_path) in out.stderr and "Traceback" not in out.stderr
