"""``vae-course site OUT``: the course as a static website, built from the committed notebooks.

    vae-course site site/                                   # site/student/, site/instructor/
    vae-course site site/ --hub-url https://hub.example.org \\
        --repo-url https://github.com/OWNER/REPO --branch main   # with launch links
    vae-course site site/ --overwrite                       # rebuild an earlier site in place

Two editions, each a folder of plain files that any static host serves (or a browser
opens from disk): ``OUT/student/`` (the lessons as students receive them, no answers)
and ``OUT/instructor/`` (the solutions with their outputs, the questions' keys and the
instructor's pages). Sphinx with myst-nb renders the notebooks, execution off: what is
shown is what the notebooks stored. MathJax comes from the ``jupyter-server-mathjax``
package and is copied into each edition, so that no page loads anything from another
host, and nothing is fetched while building.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from sphinx.application import Sphinx
from sphinx.errors import SphinxError
from sphinx.util.docutils import docutils_namespace

from .notebooks import course_dir
from .site_landing import (INSTRUCTOR_PAGES, ReadmeError, landing_page, lesson_info, readme_page,
                           readme_sections)
from .site_pages import Edition, Launch, LeakError, instructor_page, student_page
from .student_notebook import MarkerError

SITE_FILES = Path(__file__).resolve().parent / "site_files"
MARKER = ".vae-course-site"  # written into each edition, so --overwrite replaces only our folders
MATHJAX_PACKAGE = "jupyter_server_mathjax"
# MathJax 2.7 as the classic notebook configured it (STIX web fonts, the only ones shipped),
# typesetting only the math that Sphinx marked (class "math"), nothing else on the page.
MATHJAX_CONFIG = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True, "processEnvironments": True,
                "ignoreClass": "document", "processClass": "math"},
    "HTML-CSS": {"availableFonts": [], "imageFont": None, "preferredFont": None,
                 "webFont": "STIX-Web"},
    "fast-preview": {"disabled": True},
    "menuSettings": {"zoom": "None"},
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Sphinx colours its warnings
BRANCH = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$")


class UsageError(ValueError):
    """A command-line value is wrong; the message says how to fix it (exit status 2)."""


# ---- the command line -----------------------------------------------------------------

def web_address(value: str, option: str, example: str) -> str:
    """``value`` without a trailing slash, if it is an http(s) address with a host."""
    parts = urlsplit(value)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or any(c.isspace() for c in value)):
        raise UsageError(f"{option} {value!r} is not a web address: give one like {example}")
    return value.rstrip("/")


def launch_from(args: argparse.Namespace) -> Launch:
    """The launch addresses of the command line, checked."""
    hub = repo = None
    if args.hub_url:
        hub = web_address(args.hub_url, "--hub-url", "https://hub.example.org").removesuffix("/hub")
        if not args.repo_url:
            raise UsageError("--hub-url needs --repo-url too: the hub's link (nbgitpuller) "
                             "clones the course from that repository")
    if args.repo_url:
        repo = web_address(args.repo_url, "--repo-url", "https://github.com/OWNER/REPO")
        path = urlsplit(repo).path.strip("/").removesuffix(".git").split("/")
        github = urlsplit(repo).hostname in ("github.com", "www.github.com")
        if path == [""] or (github and len(path) != 2):
            raise UsageError(f"--repo-url {args.repo_url!r} does not name a repository: give its "
                             f"address, like https://github.com/OWNER/REPO")
    if not BRANCH.match(args.branch):
        raise UsageError(f"--branch {args.branch!r} is not a branch name (letters, digits, "
                         f"'.', '_', '-', '/')")
    return Launch(hub, repo, args.branch)


def check_target(out: Path, overwrite: bool) -> None:
    """Refuse a folder that holds files, unless --overwrite and they are an earlier site."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder: name a new folder for the site")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise UsageError(f"{out} exists and is not empty: name a new folder, or add --overwrite "
                         f"to replace the student/ and instructor/ folders of an earlier site "
                         f"there (nothing else in it is touched)")
    for edition in Edition:
        folder = out / edition.value
        if folder.exists() and not (folder / MARKER).exists():
            raise UsageError(f"{folder} was not built by `vae-course site` (it has no {MARKER} "
                             f"file), so it is left alone: move it away, or name another folder")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, metavar="OUT",
                        help="folder for the site: OUT/student/ and OUT/instructor/")
    parser.add_argument("--hub-url", help="a JupyterHub's address, for 'Open on the JupyterHub' "
                                          "links (nbgitpuller); needs --repo-url")
    parser.add_argument("--repo-url", help="the course's git repository, e.g. "
                                           "https://github.com/OWNER/REPO (Colab needs GitHub)")
    parser.add_argument("--branch", default="main", help="the repository's branch (default: main)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the editions of an earlier site in OUT")
    parser.add_argument("--course", type=Path, help="the course folder, with solutions/, "
                                                    "notebooks/ and README.md (default: this one)")
    parser.epilog = ("Publish OUT/student/ on any static host (copy the folder); the instructor's "
                     "edition holds every answer: keep it private.")


def run(args: argparse.Namespace) -> int:
    try:
        launch = launch_from(args)
        out = args.out.expanduser().resolve()
        check_target(out, args.overwrite)
        course = (args.course or course_dir()).resolve()
        sources = lesson_sources(course)
        mathjax_folder()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        build_site(course, sources, launch, out)
    except (LeakError, MarkerError, ReadmeError, SphinxError) as exc:
        print(f"error: {exc}\nNothing was written.", file=sys.stderr)
        return 1
    return 0


# ---- building ---------------------------------------------------------------------------

def lesson_sources(course: Path) -> list[tuple[Path, Path]]:
    """(solution, student notebook) paths of every lesson, in course order."""
    solutions = sorted(p for p in (course / "solutions").glob("*.ipynb") if p.stem[:2].isdigit())
    if not solutions:
        raise UsageError(f"no lessons in {course / 'solutions'}: run this in the course folder "
                         f"(a checkout, with solutions/), or give it with --course")
    missing = [p.name for p in solutions if not (course / "notebooks" / p.name).exists()]
    if missing or not (course / "README.md").exists():
        raise UsageError(f"{course / 'notebooks' / missing[0] if missing else course / 'README.md'}"
                         f" is missing: run `vae-course build` (or restore README.md) first")
    return [(p, course / "notebooks" / p.name) for p in solutions]


def mathjax_folder() -> Path:
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"the package {MATHJAX_PACKAGE} is missing: pip install "
                         f"jupyter-server-mathjax (the course's dependencies include it)")
    return Path(spec.submodule_search_locations[0]) / "static"


def sphinx_config(edition: Edition, extra: Path) -> dict:
    """Sphinx's settings for one edition (there is no conf.py: this is the whole of it)."""
    return {
        "project": "VAE course", "language": "en",
        "html_title": f"VAE course ({edition.value} edition)",
        "extensions": ["myst_nb"],
        "nb_execution_mode": "off",  # show what the notebooks stored; run nothing
        "nb_ipywidgets_js": {},  # no widget JavaScript from a CDN: widgets became pictures
        "nb_merge_streams": True,
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_update_mathjax": False,  # MATHJAX_CONFIG says what to typeset
        "mathjax_path": "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full",
        "mathjax2_config": MATHJAX_CONFIG,
        "html_theme": "alabaster",
        "html_theme_options": {"show_powered_by": False, "show_relbar_bottom": True,
                               "show_relbars": True, "sidebar_collapse": False},
        "html_sidebars": {"**": ["navigation.html", "relations.html", "searchbox.html"]},
        "html_static_path": [str(SITE_FILES)], "html_css_files": ["site.css"],
        "html_extra_path": [str(extra)],
        "smartquotes": False,  # show quotes and dashes as the notebooks wrote them
        "html_show_sphinx": False, "html_show_copyright": False,
        "html_copy_source": False, "html_show_sourcelink": False,
        "suppress_warnings": ["myst.header",  # README sections start at ##
                              "misc.highlighting_failure"],  # `!pip` in a python block
    }


def stage(edition: Edition, course: Path, sources: list[tuple[Path, Path]], launch: Launch,
          work: Path) -> int:
    """Write one edition's Sphinx sources into ``work/src``; return the number of lessons."""
    src, extra = work / "src", work / "extra"
    for folder in (src, extra / "notebooks"):
        folder.mkdir(parents=True)
    readme = (course / "README.md").read_text(encoding="utf-8")
    lessons = []
    for solution_path, student_path in sources:
        solution = nbformat.read(solution_path, as_version=4)
        lesson = lesson_info(solution_path.stem, solution)
        make = student_page if edition == Edition.STUDENT else instructor_page
        nbformat.write(make(solution, lesson.name, launch), src / solution_path.name)
        shutil.copyfile(student_path, extra / "notebooks" / student_path.name)
        if edition == Edition.INSTRUCTOR:
            (extra / "solutions").mkdir(exist_ok=True)
            shutil.copyfile(solution_path, extra / "solutions" / solution_path.name)
        lessons.append(lesson)
    if edition == Edition.INSTRUCTOR:
        _, _, sections = readme_sections(readme)
        for page in INSTRUCTOR_PAGES:
            (src / f"{page.name}.md").write_text(readme_page(page, sections), encoding="utf-8")
    (src / "index.md").write_text(landing_page(readme, lessons, edition), encoding="utf-8")
    return len(lessons)


def build_edition(edition: Edition, work: Path) -> list[str]:
    """Render ``work/src`` into ``work/html`` with Sphinx; return Sphinx's warnings."""
    warnings = io.StringIO()
    with docutils_namespace():  # as sphinx-build does: each build registers its own roles
        app = Sphinx(work / "src", None, work / "html", work / "doctrees", "html",
                     confoverrides=sphinx_config(edition, work / "extra"), status=None,
                     warning=warnings, freshenv=True)
        app.build(force_all=True)
    shutil.copytree(mathjax_folder(), work / "html" / "_static" / "mathjax")
    if not any((work / "html" / "_sources").iterdir()):  # html_copy_source is off
        (work / "html" / "_sources").rmdir()
    (work / "html" / MARKER).write_text(f"{edition.value} edition, built by `vae-course site` "
                                        f"on {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    return [ANSI.sub("", line) for line in warnings.getvalue().splitlines() if line.strip()]


def build_site(course: Path, sources: list[tuple[Path, Path]], launch: Launch, out: Path,
               say=print) -> dict[Edition, float]:
    """Build both editions in a temporary folder, then move them into ``out``.

    Returns the seconds each edition took. Nothing in ``out`` changes if a build fails.
    """
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="vae-course-site-") as tmp:
        for edition in Edition:
            start = time.perf_counter()
            work = Path(tmp) / edition.value
            count = stage(edition, course, sources, launch, work)
            for line in build_edition(edition, work):
                say(f"  sphinx: {line}")
            seconds[edition] = time.perf_counter() - start
            say(f"{edition.value} edition: {count} lessons in {seconds[edition]:.1f} s")
        out.mkdir(parents=True, exist_ok=True)
        for edition in Edition:
            target = out / edition.value
            if target.exists():
                shutil.rmtree(target)  # an earlier site's edition (check_target saw its marker)
            shutil.move(Path(tmp) / edition.value / "html", target)
    say(f"both editions in {sum(seconds.values()):.1f} s")
    say(f"student edition:    {out / 'student' / 'index.html'}  (publish this folder)")
    say(f"instructor edition: {out / 'instructor' / 'index.html'}  (holds the answers: keep it "
        f"private)")
    return seconds
