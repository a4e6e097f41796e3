"""``vae-course site``: the course website, built once for the whole test session.

The student edition is read page by page, every HTML file of it, as text (tags dropped,
attribute values kept, code blocks line by line): no line of solution code (as the leak
check of ``vae-course build`` defines one), no concept question's key, feedback or
explanation, and no output of an exercise or its check may be on any page. The
instructor's edition must hold all of them (which also shows that the reading finds
them). Then the launch links, the landing page, the absence of any other host, and the
command line's refusals.

:func:`built_site` builds the site once per session; tests/browser/test_site.py uses
the same build.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest

from vae_course.tools import cli, site, site_pages
from vae_course.tools.site_landing import lesson_info
from vae_course.tools.site_pages import Edition, Launch, launch_html, read_question
from vae_course.tools.student_notebook import LEAK_MIN_CHARS, solution_lines

REPO = Path(__file__).resolve().parents[2]
# myst-parser still uses an attribute that Sphinx 9 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*Check CHANGES for Sphinx API modifications")
SOLUTIONS = sorted(p for p in (REPO / "solutions").glob("*.ipynb") if p.stem[:2].isdigit())
LESSONS = [p.stem for p in SOLUTIONS]
HUB, REPO_URL, BRANCH = "https://hub.example.org", "https://github.com/teacher/vae-course", "fall"
BUILD_LIMIT_S = 120  # COURSE.md section 7: both editions within 2 minutes on 2 cores
_BUILT: dict[str, tuple[Path, str]] = {}


def built_site(tmp_path_factory) -> tuple[Path, str]:
    """(folder, printed output) of the site, built with launch addresses, once per session."""
    if "site" not in _BUILT:
        out = tmp_path_factory.mktemp("course-site") / "site"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            status = cli.main(["site", str(out), "--hub-url", HUB, "--repo-url", REPO_URL,
                               "--branch", BRANCH])
        assert status == 0, printed.getvalue()
        _BUILT["site"] = (out, printed.getvalue())
    return _BUILT["site"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_site(tmp_path_factory)


@pytest.fixture(scope="module")
def out(built) -> Path:
    return built[0]


# ---- reading pages -----------------------------------------------------------------------

class PageText(HTMLParser):
    """A page's text (a new line at each block and <br>), then its attribute values."""

    BLOCKS = {"p", "div", "li", "ul", "ol", "pre", "br", "tr", "td", "th", "section", "dt", "dd",
              "h1", "h2", "h3", "h4", "h5", "h6", "table", "details", "summary", "nav"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.attributes: list[str] = []  # kept apart: inline, they would split lines of code

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")
        self.attributes += [value for _, value in attrs if value]

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def page_text(path: Path) -> str:
    parser = PageText()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts) + "\n" + "\n".join(parser.attributes)


def squeeze(text: str) -> str:
    return " ".join(text.split())


def pages(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.html"))


@pytest.fixture(scope="module")
def texts(out) -> dict[Edition, dict[str, str]]:
    """{edition: {page path relative to the edition: its text}} for every HTML page."""
    return {e: {str(p.relative_to(out / e.value)): page_text(p) for p in pages(out / e.value)}
            for e in Edition}


def prose(lesson: str) -> str:
    """The markdown of the student notebook, formatting marks dropped: what students read."""
    nb = nbformat.read(REPO / "notebooks" / f"{lesson}.ipynb", as_version=4)
    return squeeze(re.sub(r"[`*_]", "", "\n".join(c.source for c in nb.cells
                                                   if c.cell_type == "markdown")))


def secrets(path: Path) -> dict[str, list[str]]:
    """What a student page must not show, by kind, for one solution notebook.

    A question's feedback or explanation that the lesson's own prose states (e.g. "exp(logvar)
    is the variance, not the standard deviation") is what the lesson teaches, not a key.
    """
    nb = nbformat.read(path, as_version=4)
    questions = [q for c in nb.cells if c.cell_type == "code" and (q := read_question(c.source))]
    outputs = [site_pages.output_text(o) for c in nb.cells
               if site_pages.is_exercise(c) or site_pages.is_check(c) for o in c.outputs]
    taught = prose(path.stem)
    return {"solution line": solution_lines(nb),
            "question key": [f"Option {q.correct}. {q.explanation}" for q in questions],
            "explanation": [q.explanation for q in questions if squeeze(q.explanation) not in taught],
            "feedback": [f for q in questions for f in q.feedback or [] if squeeze(f) not in taught],
            "check output": [t for t in outputs if t.strip()]}


def found(secret: str, kind: str, text: str) -> bool:
    """Whether ``secret`` is on a page: as find_leaks reads a cell (short solution lines only
    as a whole line), everything else anywhere, whitespace aside."""
    if kind == "solution line" and len(secret) < LEAK_MIN_CHARS:
        return secret in {line.strip() for line in text.split("\n")}
    return squeeze(secret) in squeeze(text)


# ---- the two editions ------------------------------------------------------------------------

def test_the_build_prints_each_edition_and_stays_within_two_minutes(built):
    printed = built[1]
    seconds = {m.group(1): float(m.group(2)) for m in
               re.finditer(r"^(student|instructor) edition: \d+ lessons in ([\d.]+) s$", printed,
                           re.MULTILINE)}
    assert set(seconds) == {"student", "instructor"}, printed
    assert sum(seconds.values()) < BUILD_LIMIT_S, printed
    assert "both editions in" in printed and "sphinx:" not in printed, printed  # no warnings


def test_every_student_page_is_free_of_answers(texts):
    """No page shows a lesson's answers, except the pages of later lessons: those come after
    the exercise in the course, and may use its code (05 shows a line of 02's solution)."""
    assert len(texts[Edition.STUDENT]) >= len(LESSONS) + 2  # lessons, landing, search ...
    problems = []
    for number, path in enumerate(SOLUTIONS):
        later = {f"{p.stem}.html" for p in SOLUTIONS[number + 1:]}
        for kind, items in secrets(path).items():
            assert items, f"{path.name} has no {kind}: the check below would prove nothing"
            for secret in items:
                problems += [f"{page}: {kind} of {path.stem}: {secret[:70]!r}"
                             for page, text in texts[Edition.STUDENT].items()
                             if page not in later and found(secret, kind, text)]
    assert not problems, "the student edition gives answers away:\n" + "\n".join(problems)


def test_the_instructor_edition_holds_every_answer(texts):
    missing = []
    for path in SOLUTIONS:
        text = texts[Edition.INSTRUCTOR][f"{path.stem}.html"]
        for kind, items in secrets(path).items():
            if kind != "question key":  # the key is shown as "**option text** (the right answer)"
                missing += [f"{path.stem}: {kind} {s[:70]!r}" for s in items
                            if not found(s, kind, text)]
        assert text.count("(the right answer)") == len(secrets(path)["question key"])
    assert not missing, "missing from the instructor's edition:\n" + "\n".join(missing)
    for page in ("routes.html", "grading.html", "website.html"):
        assert page in texts[Edition.INSTRUCTOR]
    grading = squeeze(texts[Edition.INSTRUCTOR]["grading.html"])
    assert "vae-course grade submissions/" in grading and "--csv grades.csv" in grading


@pytest.mark.parametrize("path", SOLUTIONS, ids=LESSONS)
def test_student_pages_show_the_lesson_without_its_answers(texts, out, path):
    nb = nbformat.read(path, as_version=4)
    text = texts[Edition.STUDENT][f"{path.stem}.html"]
    lesson = lesson_info(path.stem, nb)
    assert lesson.title in text and lesson.goals and "You will learn to" in text
    for cell in nb.cells:
        question = read_question(cell.source) if cell.cell_type == "code" else None
        if question:
            assert squeeze(question.question) in squeeze(text)
            assert all(squeeze(option) in squeeze(text) for option in question.options)
    stubs = re.findall(r"Exercise `(\w+)`: replace this line", text)
    assert stubs and len(stubs) == sum(site_pages.is_exercise(c) for c in nb.cells)
    page_html = (out / "student" / f"{path.stem}.html").read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]* src="([^"]+)"', page_html)
    assert images and all((out / "student" / src).is_file() for src in images)
    assert "application/vnd.jupyter.widget" not in page_html  # no blank widget boxes
    pictures = sum(1 for c in nb.cells for o in c.get("outputs", [])
                   if "image/png" in o.get("data", {}) and site_pages.WIDGET_VIEW in o.data)
    assert page_html.count("vae-static-widget") == pictures


def test_the_landing_page_lists_the_lessons_in_order_with_their_time(texts):
    for edition in Edition:
        text = texts[edition]["index.html"]
        titles = [lesson_info(p.stem, nbformat.read(p, as_version=4)).title for p in SOLUTIONS]
        positions = [text.find(t) for t in titles]
        assert -1 not in positions and positions == sorted(positions), positions
        assert text.count("about ") >= len(LESSONS) and "You will learn to" in text
    assert "keep this one private" in texts[Edition.INSTRUCTOR]["index.html"]
    assert "routes.html" in texts[Edition.INSTRUCTOR]["index.html"]


# ---- launch links -----------------------------------------------------------------------------

def links(path: Path, cls: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'<a class="{cls}" href="([^"]+)"',
                                                  path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_page_links_to_its_notebook_the_hub_and_colab(out, lesson):
    page = out / "student" / f"{lesson}.html"
    assert links(page, "vae-download") == [f"notebooks/{lesson}.ipynb"]
    assert ((out / "student" / "notebooks" / f"{lesson}.ipynb").read_bytes()
            == (REPO / "notebooks" / f"{lesson}.ipynb").read_bytes())
    [hub] = links(page, "vae-hub")
    parts = urlsplit(hub)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{HUB}/hub/user-redirect/git-pull"
    assert parse_qs(parts.query) == {"repo": [REPO_URL], "branch": [BRANCH],
                                     "urlpath": [f"lab/tree/vae-course/notebooks/{lesson}.ipynb"]}
    assert links(page, "vae-colab") == [
        f"https://colab.research.google.com/github/teacher/vae-course/blob/{BRANCH}/notebooks/"
        f"{lesson}.ipynb"]
    instructor = out / "instructor" / f"{lesson}.html"
    assert links(instructor, "vae-download-solution") == [f"solutions/{lesson}.ipynb"]
    assert (out / "instructor" / "solutions" / f"{lesson}.ipynb").is_file()
    assert not (out / "student" / "solutions").exists()


def test_without_addresses_the_page_says_which_options_add_the_links(tmp_path):
    sources = site.lesson_sources(REPO)[:1]
    site.stage(Edition.STUDENT, REPO, sources, Launch(), tmp_path / "work")
    nb = nbformat.read(tmp_path / "work" / "src" / sources[0][0].name, as_version=4)
    box = nb.cells[1].source
    assert "vae-download" in box and "vae-hub" not in box and "vae-colab" not in box
    assert "--hub-url" in box and "--repo-url" in box and "--branch" in box
    assert "http" not in box.replace("https://HUB", "").replace("https://github.com/OWNER/REPO", "")
    gitlab = launch_html("01_x", Launch(HUB, "https://gitlab.com/t/vae-course"), Edition.STUDENT)
    assert "vae-hub" in gitlab and "vae-colab" not in gitlab and "GitHub only" in gitlab


def test_no_page_loads_anything_from_another_host(out):
    """Every http(s) address in an attribute or style of any page is a launch link."""
    launch = (f"{HUB}/hub/user-redirect/git-pull?", "https://colab.research.google.com/github/")
    problems = []
    for edition in Edition:
        for path in pages(out / edition.value):
            raw = html.unescape(path.read_text(encoding="utf-8"))
            addresses = re.findall(r"""(?:href|src|srcset|action|data|poster)\s*=\s*["']?\s*"""
                                   r"""(https?:[^"'\s>]+)|url\(\s*["']?(https?:[^"')]+)""", raw)
            addresses += [(m, "") for m in re.findall(r"@import\s+[\"'](https?:[^\"']+)", raw)]
            problems += [f"{path.relative_to(out)}: {a or b}" for a, b in addresses
                         if not (a or b).startswith(launch)]
        for css in (out / edition.value / "_static").glob("*.css"):
            problems += [f"{css.relative_to(out)}: {m}" for m in
                         re.findall(r"(?:url\(|@import)\s*[\"']?(https?:[^\"')]+)", css.read_text())]
    assert not problems, "pages that reach another host:\n" + "\n".join(problems)
    assert (out / "student" / "_static" / "mathjax" / "MathJax.js").is_file()
    assert json.dumps(site.MATHJAX_CONFIG)  # the configuration is plain data


# ---- the command line ---------------------------------------------------------------------------

def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    status = cli.main(["site", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.mark.parametrize("extra, message", [
    (["--hub-url", "hub.example.org", "--repo-url", REPO_URL], "--hub-url 'hub.example.org' is not a web address"),
    (["--hub-url", "ftp://hub.example.org", "--repo-url", REPO_URL], "is not a web address"),
    (["--hub-url", "https://hub.example.org/?next=x", "--repo-url", REPO_URL], "is not a web address"),
    (["--hub-url", HUB], "--hub-url needs --repo-url"),
    (["--repo-url", "https://github.com/teacher"], "does not name a repository"),
    (["--repo-url", "https://github.com/teacher/vae-course/tree/main"], "does not name a repository"),
    (["--repo-url", "git@github.com:teacher/vae-course.git"], "is not a web address"),
    (["--repo-url", REPO_URL, "--branch", "main branch"], "is not a branch name"),
])
def test_bad_addresses_stop_with_a_message_and_status_2(tmp_path, capsys, extra, message):
    status, printed = run_cli([tmp_path / "site", *extra], capsys)
    assert status == 2 and message in printed and "Traceback" not in printed, printed
    assert not (tmp_path / "site").exists()


def test_a_folder_with_files_is_refused_and_left_alone(tmp_path, capsys):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    status, printed = run_cli([target], capsys)
    assert status == 2 and "exists and is not empty" in printed and "--overwrite" in printed
    assert [p.name for p in target.iterdir()] == ["thesis.tex"]
    (target / "student").mkdir()  # someone's own folder, not a site: even --overwrite refuses
    (target / "student" / "notes.md").write_text("mine")
    status, printed = run_cli([target, "--overwrite"], capsys)
    assert status == 2 and "was not built by `vae-course site`" in printed
    assert (target / "student" / "notes.md").read_text() == "mine"
    file = tmp_path / "site.txt"
    file.write_text("x")
    status, printed = run_cli([file], capsys)
    assert status == 2 and "is not a folder" in printed and file.read_text() == "x"


def test_overwrite_replaces_an_earlier_site_and_nothing_else(tmp_path, capsys):
    target = tmp_path / "site"
    for edition in Edition:
        (target / edition.value).mkdir(parents=True)
        (target / edition.value / site.MARKER).write_text("an earlier build")
        (target / edition.value / "stale.html").write_text("old")
    (target / "README.txt").write_text("kept")
    status, printed = run_cli([target, "--overwrite"], capsys)
    assert status == 0, printed
    assert (target / "README.txt").read_text() == "kept"
    for edition in Edition:
        assert not (target / edition.value / "stale.html").exists()
        assert (target / edition.value / "index.html").is_file()
        assert (target / edition.value / site.MARKER).is_file()
