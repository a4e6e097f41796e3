"""The one command line, `vae-course` (vae_course.tools.cli); each command is tested with
its own module."""

import subprocess
import sys

import pytest

from vae_course.tools import cli


def test_module_entry_point_answers_help():
    out = subprocess.run([sys.executable, "-m", "vae_course", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("lab", "data", "build", "grade", "doctor", "notebooks"):
        assert command in out


def test_no_command_prints_the_help_and_fails(capsys):
    assert cli.main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: vae-course") and all(name in out for name in cli.COMMANDS)


def test_only_lab_passes_unknown_options_on(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["doctor", "--port", "8890"])
    assert stop.value.code == 2 and "unrecognized arguments: --port 8890" in capsys.readouterr().err
    assert cli.main(["lab", "--dry-run", "--port", "8890"]) == 0
    assert "--port 8890" in capsys.readouterr().out
