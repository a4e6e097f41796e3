"""``vae-course slurm`` (vae_course/tools/slurm.py): job scripts for a SLURM cluster.

The scripts are run here by bash with stand-ins for Python and sbatch that record the
arguments they get, so quoting is checked by the shell itself. Then a real one-node
cluster (munged, slurmctld, slurmd under a temporary folder named by SLURM_CONF; nothing
under /etc changes) grades a small class of toy-lesson submissions through submit.sh,
and the merged gradebook must equal a one-process ``vae-course grade`` run's. Without
SLURM that test skips, unless CI is "true": CI must run it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from fixtures.toy_lesson import CHECKS, LESSON, toy_solution

from vae_course.tools import cli
from vae_course.tools.grade_store import shard_of
from vae_course.tools.student_notebook import put_back, student_notebook

DONE = {"ann": {"double", "countdown"}, "ben": {"double"}, "cat": set()}  # shards 1, 1, 2 of 2
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "scontrol",
           "scancel")
# A stand-in for a program: writes the data and cache folders it was given, then its arguments.
RECORDER = '#!/bin/sh\nprintf "%s\\n" "$VAE_COURSE_DATA" "$VAE_COURSE_CACHE" "$@" > "$0.args"\n'
BASE = ["--shards", "2", "--out", "out"]


def vae_course(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def make_class(folder: Path) -> None:
    solution = toy_solution()
    for student, exercises in DONE.items():
        (folder / student).mkdir(parents=True)
        nb = put_back(student_notebook(solution, LESSON), solution, exercises=exercises)
        nbformat.write(nb, folder / student / f"{LESSON}.ipynb")


def outputs(folder: Path) -> dict:
    """The gradebook files in ``folder``, as comparable values (as in test_merge.py)."""
    feedback = {p.relative_to(folder / "feedback").as_posix(): p.read_text()
                for p in sorted((folder / "feedback").rglob("*.md"))}
    return {"json": json.loads((folder / "grades.json").read_text()),
            "csv": (folder / "grades.csv").read_text(), "feedback": feedback}


def sbatch_options(script: Path) -> list[str]:
    """The ``#SBATCH`` options, unquoted as sbatch does."""
    return [arg for line in script.read_text().splitlines() if line.startswith("#SBATCH ")
            for arg in shlex.split(line[len("#SBATCH "):])]


def recorder(folder: Path, name: str) -> Path:
    """An executable ``folder/name`` that records what it is given in ``name.args``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(RECORDER)
    (folder / name).chmod(0o755)
    return folder / name


def recorded(program: Path) -> list[str]:
    """The data folder, cache folder and arguments that ``program`` (a recorder) was given."""
    return program.with_name(program.name + ".args").read_text().splitlines()


# ---- the scripts, without a cluster --------------------------------------------------

@pytest.fixture
def place(tmp_path, monkeypatch):
    """A folder with a space and a quote in its name, holding one student's notebook."""
    root = tmp_path / "it's a class"
    (root / "ann").mkdir(parents=True)
    (root / "ann" / f"{LESSON}.ipynb").write_text("{}")
    (root / "points.toml").write_text("double = 2\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("VAE_COURSE_DATA", str(root / "data dir"))
    monkeypatch.setenv("VAE_COURSE_CACHE", str(root / "cache dir"))
    monkeypatch.setattr(sys, "executable", str(recorder(root / "bin dir", "python")))
    return root


def test_the_scripts_run_one_task_per_shard_with_the_options_given(place):
    out = place / "out dir"
    code, said, err = vae_course("slurm", "ann", "--shards", 3, "--out", "out dir",
                                 "--partition", "short", "--time", "01:30:00", "--cpus", 2,
                                 "--mem", "4G", "--points", "points.toml", "--extra-checks",
                                 CHECKS, "--timeout", 20, "--notebook-timeout", 300,
                                 "--no-sandbox")
    assert code == 0, err
    assert shlex.split(said.split("submit with: ")[1]) == ["bash", str(out / "submit.sh")]
    assert sbatch_options(out / "grade.sbatch") == [
        "--job-name=vae-grade", f"--output={out}/logs/grade-%A_%a.log", "--partition=short",
        "--time=01:30:00", "--cpus-per-task=2", "--mem=4G", "--array=1-3"]
    assert "--cpus-per-task=2" not in sbatch_options(out / "merge.sbatch")
    assert (out / "logs").is_dir() and (out / "results").is_dir()

    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "2", "VAE_COURSE_DATA": "elsewhere"}
    subprocess.run(["bash", out / "grade.sbatch"], env=env, cwd="/", check=True)
    assert recorded(Path(sys.executable)) == [
        str(place / "data dir"), str(place / "cache dir"), "-m", "vae_course", "grade",
        str(place / "ann"), "--results", str(out / "results"), "--shard", "2/3",
        "--extra-checks", str(CHECKS), "--points", str(place / "points.toml"), "--timeout", "20",
        "--notebook-timeout", "300", "--no-sandbox"]
    subprocess.run(["bash", out / "merge.sbatch"], env=env, cwd="/", check=True)
    assert recorded(Path(sys.executable))[2:] == [
        "-m", "vae_course", "merge", str(out / "results"), "--csv", str(out / "grades.csv"),
        "--json", str(out / "grades.json"), "--feedback", str(out / "feedback"), "--overwrite",
        "--extra-checks", str(CHECKS), "--points", str(place / "points.toml")]


def test_submit_makes_the_merge_wait_for_the_whole_array(place, monkeypatch):
    assert vae_course("slurm", ".", "--shards", 2, "--out", "out dir")[0] == 0
    sbatch = place / "fake slurm" / "sbatch"
    sbatch.parent.mkdir()
    sbatch.write_text('#!/bin/sh\necho "$*" >> "$0.calls"\n'  # job ids 42, 43 (and a cluster)
                      'echo "$((41 + $(wc -l < "$0.calls")));cluster"\n')
    sbatch.chmod(0o755)
    env = {**os.environ, "PATH": f"{sbatch.parent}:{os.environ['PATH']}"}
    said = subprocess.run(["bash", place / "out dir" / "submit.sh"], env=env, check=True,
                          capture_output=True, text=True).stdout
    calls = (sbatch.parent / "sbatch.calls").read_text().splitlines()
    assert calls == [f"--parsable {place}/out dir/grade.sbatch",
                     f"--parsable --dependency=afterok:42 --kill-on-invalid-dep=yes "
                     f"{place}/out dir/merge.sbatch"]
    assert "job array 42, 2 tasks" in said and "job 43," in said and "grades.csv" in said


def test_existing_scripts_are_replaced_only_with_overwrite(place):
    assert vae_course("slurm", "ann", "--shards", 2, "--out", "out")[0] == 0
    before = (place / "out" / "grade.sbatch").read_text()
    code, _, err = vae_course("slurm", "ann", "--shards", 5, "--out", "out")
    assert code == 2 and "already holds grade.sbatch" in err and "--overwrite" in err
    assert (place / "out" / "grade.sbatch").read_text() == before
    assert vae_course("slurm", "ann", "--shards", 5, "--out", "out", "--overwrite")[0] == 0
    assert "--array=1-5" in sbatch_options(place / "out" / "grade.sbatch")


@pytest.mark.parametrize("argv, says", [
    (BASE, "no submissions given"),
    (["missing", *BASE], "not found: missing"),
    (["empty", *BASE], "no files to grade"),
    (["ann", *BASE, "--shards", "0"], "--shards 0"),
    (["ann", *BASE, "--out", "points.toml"], "is a file"),
    (["ann", *BASE, "--time", "two hours"], "--time 'two hours'"),
    (["ann", *BASE, "--mem", "lots"], "--mem 'lots'"),
    (["ann", *BASE, "--points", "nope.toml"], "--points nope.toml: no such file"),
    (["ann", *BASE, "--points", "points.toml"], "unknown exercises"),  # `double` is a toy's
])
def test_bad_input_is_one_line_and_status_2(place, argv, says):
    (place / "empty").mkdir()
    code, _, err = vae_course("slurm", *argv)
    assert code == 2 and says in err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not (place / "out").exists()


# ---- a real one-node cluster ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(root: Path, host: str, socket_path: Path) -> str:
    state = {"StateSaveLocation": "state", "SlurmdSpoolDir": "spool",
             "SlurmctldPidFile": "slurmctld.pid", "SlurmdPidFile": "slurmd.pid",
             "SlurmctldLogFile": "slurmctld.log", "SlurmdLogFile": "slurmd.log"}
    return "\n".join([
        "ClusterName=vaecourse", f"SlurmctldHost={host}(127.0.0.1)", "SlurmUser=root",
        "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={socket_path}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "MpiDefault=none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core", "ReturnToService=2",
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        f"SlurmctldPort={free_port()}", f"SlurmdPort={free_port()}",
        *(f"{key}={root / value}" for key, value in state.items()),
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory=1000",
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""])


def missing_slurm() -> str | None:
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        return f"SLURM is not installed (no {', '.join(missing)}): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "starting munged and slurmd needs root"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "there is no `munge` user (Debian's munge package creates it)"
    return None


def tails(root: Path) -> str:
    return "\n".join(f"--- {p}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
                     for p in sorted(root.rglob("*.log")) if p.is_file())


def snapshot() -> dict:
    """What the system's SLURM and munge configuration folders hold (names, sizes, times)."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for folder in ("/etc/slurm",
            "/etc/munge") for p in Path(folder).rglob("*")}


def start_munged(munge: Path) -> subprocess.Popen:
    """munged as the munge user, with a new key; its folders are the munge user's, or it
    refuses to start."""
    for sub in ("", "etc", "run", "lib", "log"):
        (munge / sub).mkdir(exist_ok=True)
        shutil.chown(munge / sub, "munge", "munge")
        (munge / sub).chmod(0o755 if sub in ("", "run") else 0o700)
    key = munge / "etc" / "munge.key"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True)
    shutil.chown(key, "munge", "munge")
    key.chmod(0o400)
    files = {"socket": "run/munge.socket", "pid-file": "run/munged.pid",
             "log-file": "log/munged.log", "seed-file": "lib/munged.seed"}
    return subprocess.Popen(
        ["munged", "--foreground", f"--key-file={key}",
         *(f"--{option}={munge / path}" for option, path in files.items())],
        user="munge", group="munge", extra_groups=[], cwd=munge,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # it logs to its log file


@pytest.fixture
def cluster():
    """A one-node SLURM cluster in a temporary folder; yields the environment of its clients."""
    reason = missing_slurm()
    if reason:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(reason)
    before, daemons = snapshot(), []
    root = Path(tempfile.mkdtemp(prefix="vae-course-slurm-"))
    root.chmod(0o755)  # the munge user must reach its folders
    socket_path = root / "munge" / "run" / "munge.socket"  # as start_munged names it
    try:
        daemons.append(start_munged(root / "munge"))
        for sub in ("state", "spool"):
            (root / sub).mkdir()
        conf = root / "slurm.conf"
        host = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
        conf.write_text(slurm_conf(root, host, socket_path))
        env = {**os.environ, "SLURM_CONF": str(conf)}
        deadline = time.monotonic() + 10
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for daemon in ("slurmctld", "slurmd"):
            daemons.append(subprocess.Popen([daemon, "-D", "-f", conf], env=env, cwd=root,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        deadline, state = time.monotonic() + 30, ""
        while state != "idle":
            assert time.monotonic() < deadline, f"the node is {state!r}, not idle:\n{tails(root)}"
            time.sleep(0.5)
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                   text=True).stdout.strip()
        yield env
    finally:
        if len(daemons) == 3:  # end the jobs first: their steps outlive slurmd
            jobs = subprocess.run(["squeue", "-h", "-o", "%A"], env=env, capture_output=True,
                                  text=True).stdout.split()
            if jobs:
                subprocess.run(["scancel", *jobs], env=env, capture_output=True)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and subprocess.run(
                    ["squeue", "-h"], env=env, capture_output=True, text=True).stdout.strip():
                time.sleep(0.5)
        for daemon in reversed(daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        shutil.rmtree(root, ignore_errors=True)
    assert snapshot() == before, "the system's SLURM or munge configuration changed"


def job_state(job: str, env: dict) -> str:
    shown = subprocess.run(["scontrol", "-o", "show", "job", job], env=env, capture_output=True,
                           text=True).stdout
    match = re.search(r"JobState=(\S+)", shown)
    return match[1] if match else "GONE"


def test_a_real_cluster_grades_like_one_process(cluster, tmp_path, monkeypatch):
    root = tmp_path / "a course"
    monkeypatch.chdir(tmp_path)
    make_class(root / "my class")
    assert {shard_of(s, 2) for s in DONE} == {1, 2}  # both tasks have students to grade
    (root / "points.toml").write_text("double = 2\ncountdown = 3\n")
    options = ["--extra-checks", CHECKS, "--timeout", 20, "--points", root / "points.toml"]
    code, _, err = vae_course("grade", root / "my class", *options, "--results", root / "kept",
                              "--json", root / "one" / "grades.json", "--csv",
                              root / "one" / "grades.csv", "--feedback", root / "one" / "feedback")
    assert code == 0, err
    out = root / "slurm run"
    code, _, err = vae_course("slurm", root / "my class", "--shards", 2, "--out", out,
                              "--cpus", 1, "--time", "00:05:00", *options)
    assert code == 0, err

    said = subprocess.run(["bash", out / "submit.sh"], env=cluster, capture_output=True,
                          text=True, check=True).stdout
    merge = re.search(r"merging: job (\d+)", said)[1]
    deadline, state = time.monotonic() + 90, "PENDING"
    while state in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING"):
        assert time.monotonic() < deadline, f"the merge is still {state}:\n{tails(out / 'logs')}"
        time.sleep(1)
        state = job_state(merge, cluster)
    assert state == "COMPLETED", f"the merge job is {state}:\n{tails(out / 'logs')}"
    assert outputs(out) == outputs(root / "one")
    assert outputs(out)["json"]["students"]["ann"]["total"] == 5
    logs = sorted(p.name for p in (out / "logs").iterdir())
    assert len(logs) == 3 and logs[-1].startswith("merge-"), logs
