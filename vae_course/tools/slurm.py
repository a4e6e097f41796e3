"""``vae-course slurm SUBMISSIONS... --shards N --out DIR``: grade a class on a SLURM cluster.

    vae-course slurm submissions/ --shards 8 --out run1/ --time 02:00:00 --cpus 2 --mem 4G
    vae-course slurm submissions/ --shards 8 --out run1/ --points points.toml \\
        --extra-checks ~/private_checks.py --partition short
    bash run1/submit.sh            # submits both jobs, prints their ids

Writes three scripts into DIR (replaced only with ``--overwrite``), submits nothing:

* ``grade.sbatch``: a job array; task K runs ``vae-course grade SUBMISSIONS --results
  DIR/results --shard K/N`` with the grade options given, the Python that wrote it, the
  course's ``VAE_COURSE_DATA`` / ``VAE_COURSE_CACHE`` when set, in the folder it was
  written from (the gradebook names files from there), logging to DIR/logs/.
* ``merge.sbatch``: ``vae-course merge DIR/results`` into DIR/grades.csv, DIR/grades.json
  and DIR/feedback/ (replaced on a rerun): the gradebook a single run would write.
* ``submit.sh``: submits the array, then the merge with ``--dependency=afterok`` on it
  (cancelled if a task fails), and prints both job ids and where the gradebook will be.

Each result is kept once graded (:mod:`.grade_store`): after a task failed or ran out of
time, run ``submit.sh`` again and only the rest is graded. Train the models once before
(a warm ``VAE_COURSE_CACHE`` the nodes share), or every task trains them.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from pathlib import Path

from . import gradebook, grader_cell
from ..data import ENV_DATA
from ..train import ENV_CACHE
from .submissions import submissions

SCRIPTS = ("grade.sbatch", "merge.sbatch", "submit.sh")
TIME = re.compile(r"(\d+-)?\d+(:\d{1,2}){0,2}")  # the forms sbatch --time accepts
MEMORY = re.compile(r"\d+[KMGT]?")


def quote(path: Path | str) -> str:
    """``path`` quoted for the shell (and for ``#SBATCH`` lines, which sbatch unquotes)."""
    return shlex.quote(str(path))


def absolute(path: Path | str) -> Path:
    """``path`` made absolute, links not followed (a linked notebook keeps its student's name)."""
    return Path(os.path.abspath(path))


def log_pattern(folder: Path, pattern: str) -> str:
    """``folder/pattern`` for ``#SBATCH --output``: a ``%`` of the folder is escaped as ``%%``,
    those of ``pattern`` (``%A``: the array's job id, ``%a``: the task) are sbatch's."""
    return quote(f"{str(folder).replace('%', '%%')}/{pattern}")


def directives(args: argparse.Namespace, name: str, log: str, cpus: bool = True) -> list[str]:
    chosen = (("partition", args.partition), ("time", args.time),
              ("cpus-per-task", args.cpus if cpus else None), ("mem", args.mem))
    return [f"#SBATCH --job-name={name}", f"#SBATCH --output={log}",
            *(f"#SBATCH --{option}={quote(value)}" for option, value in chosen if value is not None)]


def environment() -> list[str]:
    """``export`` lines for the course's variables that are set here, as absolute paths."""
    return [f"export {name}={quote(absolute(Path(os.environ[name]).expanduser()))}"
            for name in (ENV_DATA, ENV_CACHE) if os.environ.get(name)]


def vae_course() -> str:
    """The command that runs this very installation (a venv's python is not resolved)."""
    return f"{quote(absolute(sys.executable))} -m vae_course"


def shared_options(args: argparse.Namespace) -> list[str]:
    """The options grade and merge both need to agree on: the exercises and their points."""
    return [f"{option} {quote(absolute(path))}" for option, path in
            (("--extra-checks", args.extra_checks), ("--points", args.points)) if path is not None]


def grade_script(args: argparse.Namespace, out: Path) -> str:
    options = shared_options(args)
    for option, seconds in (("--timeout", args.timeout),
                            ("--notebook-timeout", args.notebook_timeout)):
        if seconds is not None:
            options.append(f"{option} {seconds:.12g}")
    if args.no_sandbox:
        options.append("--no-sandbox")
    command = [f"exec {vae_course()} grade", *(quote(absolute(p)) for p in args.paths),
               f'--results {quote(out / "results")} --shard "$SLURM_ARRAY_TASK_ID/{args.shards}"',
               *([" ".join(options)] if options else [])]
    return "\n".join([
        "#!/bin/bash", *directives(args, "vae-grade", log_pattern(out / "logs", "grade-%A_%a.log")),
        f"#SBATCH --array=1-{args.shards}",
        f"# Written by `vae-course slurm`: task K of {args.shards} grades the K-th share of the",
        "# students and keeps each result in results/; merge.sbatch joins them.",
        "set -euo pipefail", *environment(),
        "# the kernels use the cores given to the task, not every core of the node",
        'export OMP_NUM_THREADS="${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"',
        f"cd {quote(Path.cwd())}  # where the command ran: the gradebook names files from here",
        " \\\n    ".join(command), ""])


def merge_script(args: argparse.Namespace, out: Path) -> str:
    command = [f"exec {vae_course()} merge {quote(out / 'results')}",
               f"--csv {quote(out / 'grades.csv')} --json {quote(out / 'grades.json')}",
               f"--feedback {quote(out / 'feedback')} --overwrite", *shared_options(args)]
    log = log_pattern(out / "logs", "merge-%j.log")
    return "\n".join([
        "#!/bin/bash", *directives(args, "vae-merge", log, cpus=False),
        "# Written by `vae-course slurm`: one gradebook from the results of every task.",
        "set -euo pipefail", *environment(), " \\\n    ".join(command), ""])


def submit_script(args: argparse.Namespace, out: Path) -> str:
    at = {name: quote(out / name) for name in (*SCRIPTS, "logs", "grades.csv", "grades.json",
                                               "feedback")}
    return "\n".join([
        "#!/usr/bin/env bash",
        "# Written by `vae-course slurm`: grade in a job array, then merge if every task succeeded.",
        "# Run it again after a task failed: what is already graded is kept, not graded again.",
        "set -euo pipefail",
        f"array=$(sbatch --parsable {at['grade.sbatch']})",
        'array=${array%%;*}  # "id;cluster" on a federation',
        "merge=$(sbatch --parsable --dependency=afterok:$array --kill-on-invalid-dep=yes "
        f"{at['merge.sbatch']})",
        "merge=${merge%%;*}",
        f'echo "grading: job array $array, {args.shards} tasks, logs in "{at["logs"]}',
        'echo "merging: job $merge, once every task has succeeded"',
        f"echo gradebook: {at['grades.csv']} {at['grades.json']} {at['feedback']}", ""])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="SUBMISSIONS",
                        help="submitted notebooks, or folders holding them")
    parser.add_argument("--shards", type=int, required=True, metavar="N",
                        help="tasks of the job array; each grades 1/N of the students")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for the scripts, logs/, results/ and the gradebook")
    parser.add_argument("--partition", help="SLURM partition (default: the cluster's)")
    parser.add_argument("--time", metavar="HH:MM:SS", help="time limit of each task")
    parser.add_argument("--cpus", type=int, metavar="C", help="CPUs per task")
    parser.add_argument("--mem", metavar="M", help="memory per task, as sbatch writes it (4G)")
    parser.add_argument("--extra-checks", type=Path, metavar="FILE",
                        help="passed on to grade and merge")
    parser.add_argument("--points", type=Path, metavar="FILE", help="passed on to grade and merge")
    parser.add_argument("--timeout", type=float, metavar="S", help="passed on to grade")
    parser.add_argument("--notebook-timeout", type=float, metavar="S", help="passed on to grade")
    parser.add_argument("--no-sandbox", action="store_true", help="passed on to grade")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace scripts that are already in DIR")


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, with how to fix it; None when nothing is."""
    if not args.paths:
        return "no submissions given; name the notebooks or folders to grade."
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        return f"not found: {', '.join(missing)}. Give notebooks or folders that exist."
    if not submissions(args.paths):
        return f"no files to grade in {', '.join(map(str, args.paths))}."
    if args.shards < 1:
        return f"--shards {args.shards}: give a number of tasks, 1 or more."
    if args.cpus is not None and args.cpus < 1:
        return f"--cpus {args.cpus}: give 1 or more CPUs per task."
    if args.time is not None and not TIME.fullmatch(args.time):
        return f"--time {args.time!r}: write HH:MM:SS (or MM, or D-HH:MM:SS)."
    if args.mem is not None and not MEMORY.fullmatch(args.mem):
        return f"--mem {args.mem!r}: write a size as sbatch does, such as 4000M or 4G."
    for option, path in (("--extra-checks", args.extra_checks), ("--points", args.points)):
        if path is not None and not path.is_file():
            return f"{option} {path}: no such file."
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out} is a file; give a folder (it is created)."
    present = [name for name in SCRIPTS if (args.out / name).exists()]
    if present and not args.overwrite:
        return (f"{args.out} already holds {', '.join(present)}; give a new folder, or add "
                f"--overwrite to replace the scripts (results already kept there are reused).")
    try:  # now, rather than in every task
        registry = grader_cell.registry(str(absolute(args.extra_checks))
                                        if args.extra_checks else None)
        if args.points:
            gradebook.load_points(args.points, set(registry))
    except ValueError as exc:
        return str(exc)
    return None


def run(args: argparse.Namespace) -> int:
    error = problem(args)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = absolute(args.out)
    scripts = (grade_script(args, out), merge_script(args, out), submit_script(args, out))
    try:
        for folder in (out / "logs", out / "results"):
            folder.mkdir(parents=True, exist_ok=True)  # sbatch writes no log into a missing folder
        for name, text in zip(SCRIPTS, scripts):
            (out / name).write_text(text)
            (out / name).chmod(0o755)
    except OSError as exc:
        print(f"error: cannot write into {out}: {exc.strerror or exc}.", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(SCRIPTS)} to {out}; submit with: bash {quote(out / 'submit.sh')}")
    return 0
