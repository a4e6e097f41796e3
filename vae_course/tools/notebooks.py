"""``vae-course notebooks DIR``: copy the student notebooks into DIR for a student.

    vae-course notebooks ~/vae-course      # then open them: jupyter lab ~/vae-course

The notebooks come with the installed package: a wheel carries them as
``vae_course/_notebooks`` (setuptools copies the repository's ``notebooks/`` folder
there when it builds; see ``pyproject.toml``), and a checkout, editable install
included, uses its own ``notebooks/`` folder. A notebook that already exists in DIR is
never overwritten: it may hold a student's work. The command says what it skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # vae_course/


def course_dir(start: Path | None = None) -> Path:
    """The course folder (the one holding notebooks/ and solutions/): the current
    folder or one above it, else the folder above this package."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]



def notebook_source() -> Path | None:
    """The folder of student notebooks that belongs to this installation, or None.

    An installed wheel: ``vae_course/_notebooks``. A checkout (or an editable install of
    one): the ``notebooks/`` folder beside the package. Both hold the same files: the
    wheel's are copied from ``notebooks/`` when it is built.
    """
    for folder in (PACKAGE / "_notebooks", PACKAGE.parent / "notebooks"):
        if folder.is_dir() and any(folder.glob("*.ipynb")):
            return folder
    return None


def student_notebooks(source: Path | None = None) -> list[Path]:
    """The student notebooks, in course order (``NN_name.ipynb``; backups left out)."""
    source = source or notebook_source()
    if source is None:
        return []
    return sorted(p for p in source.glob("*.ipynb") if p.stem[:2].isdigit())


def copy_notebooks(target: Path, source: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Copy every student notebook into ``target`` (created if needed), never overwriting.

    Returns:
        (copied, skipped): the paths in ``target`` that were written, and those that
        existed already and were left as they were.
    """
    notebooks = student_notebooks(source)
    if not notebooks:
        raise FileNotFoundError("this installation of vae_course carries no student notebooks "
                                f"(looked in {PACKAGE / '_notebooks'} and {PACKAGE.parent / 'notebooks'}); "
                                "reinstall the course from its wheel, or run `vae-course build` "
                                "in a checkout of the course")
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} exists and is not a folder: name a folder to copy "
                                 f"the notebooks into")
    target.mkdir(parents=True, exist_ok=True)
    copied, skipped = [], []
    for path in notebooks:
        dest = target / path.name
        try:
            with open(dest, "xb") as out:  # "x": fails if the file exists, never overwrites
                out.write(path.read_bytes())
        except FileExistsError:
            skipped.append(dest)
            continue
        copied.append(dest)  # with the default permissions: an installed copy may be read-only
    return copied, skipped


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="where to put the notebooks (created if needed)")
    parser.epilog = ("A notebook that is already in the folder is left as it is (it may hold "
                     "your work); delete or rename it to get a fresh copy.")


def run(args: argparse.Namespace) -> int:
    target = args.folder.expanduser()
    try:
        copied, skipped = copy_notebooks(target)
    except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for dest in copied:
        print(f"copied   {dest.name}")
    for dest in skipped:
        print(f"skipped  {dest.name}: it is already in {target} and was left as it is "
              f"(delete or rename it to get a fresh copy)")
    print(f"{len(copied)} copied, {len(skipped)} skipped, in {target}.")
    print(f"Open them in JupyterLab (`jupyter lab {target}`), starting with "
          f"{student_notebooks()[0].name}.")
    return 0
