"""`vae-course lab` (vae_course.tools.lab): the JupyterLab command it runs, as a dry run."""

import subprocess
import sys

from vae_course.tools import cli, lab


def test_lab_dry_run_opens_the_first_notebook(repo):
    out = subprocess.run([sys.executable, "-m", "vae_course", "lab", "--dry-run"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout
    assert "jupyter lab" in out and "notebooks/01_autoencoder.ipynb" in out


def test_lab_allows_root_only_when_running_as_root(monkeypatch, capsys):
    for uid, expected in ((0, True), (1000, False)):
        monkeypatch.setattr(lab.os, "geteuid", lambda uid=uid: uid, raising=False)
        assert cli.main(["lab", "--dry-run", "--port", "8890"]) == 0
        out = capsys.readouterr()
        assert ("--allow-root" in out.out) is expected, (uid, out.out)
        assert "--port 8890" in out.out and out.out.rstrip().endswith("notebooks/01_autoencoder.ipynb")
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0, raising=False)
    cli.main(["lab", "--dry-run", "--allow-root"])
    assert capsys.readouterr().out.count("--allow-root") == 1  # not twice
