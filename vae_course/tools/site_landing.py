"""The pages of the course website that are not lessons: the landing page and, in the
instructor's edition, the instructor's pages taken from README.md.

The landing page says what the course teaches (README.md's opening paragraphs), in
which order, and how long each lesson takes (each notebook's own opening: title, goals,
time). The instructor's pages are README.md's sections for instructors, turned into
pages of their own: headings moved up a level, links into the README reduced to their
text. Every function here is pure: text in, Markdown (MyST) out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbformat import NotebookNode

from .site_pages import Edition

TITLE = re.compile(r"^# (.+)$", re.MULTILINE)
GOALS = re.compile(r"^\*\*You will learn to\*\*\n\n((?:- .+\n?(?: {2}.+\n?)*)+)", re.MULTILINE)
FORM = re.compile(r"^\*\*Time:\*\*.*(?:\n(?!\n).+)*", re.MULTILINE)
MINUTES = re.compile(r"\*\*Time:\*\* about (\d+) minutes")


@dataclass(frozen=True)
class Lesson:
    """What the landing page says about a lesson, read from its opening cell."""

    name: str  # e.g. "01_autoencoder"
    title: str
    minutes: int | None
    goals: tuple[str, ...]
    form: str  # the "**Time:** ... **Before this:** ..." paragraph, as written


def lesson_info(name: str, nb: NotebookNode) -> Lesson:
    """The title, time, goals and form lines of a notebook's first markdown cell."""
    opening = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    title = TITLE.search(opening)
    goals = GOALS.search(opening + "\n")
    form = FORM.search(opening)
    minutes = MINUTES.search(opening)
    items = re.split(r"^- ", goals.group(1), flags=re.MULTILINE)[1:] if goals else []
    return Lesson(name, title.group(1).strip() if title else name,
                  int(minutes.group(1)) if minutes else None,
                  tuple(" ".join(i.split()) for i in items), form.group(0) if form else "")


ANCHOR_LINK = re.compile(r"\[([^\]]+)\]\((?!https?://)[^)]*\)")  # [text](#anchor), [text](file)


@dataclass(frozen=True)
class InstructorPage:
    """One instructor's page: its document name, and the README sections it is made of."""

    name: str
    title: str
    sections: tuple[str, ...]  # README.md headings ("## <title>"), in order


INSTRUCTOR_PAGES = (
    InstructorPage("routes", "Routes for a class: laptop, JupyterHub, Colab",
                   ("Where to run it", "The data, and working offline")),
    InstructorPage("grading", "Changing the notebooks, grading and the gradebook",
                   ("For instructors",)),
    InstructorPage("website", "The course as a website", ("The course as a website",)),
)


class ReadmeError(ValueError):
    """README.md lacks a section that a page is made of; the message names it."""


def readme_sections(readme: str) -> tuple[str, str, dict[str, str]]:
    """(title, opening paragraphs, {section title: body}) of README.md's ``##`` sections.

    Headings inside fenced code blocks are text, not headings.
    """
    title, opening, sections, current, fenced = "", [], {}, None, False
    for line in readme.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("# ") and not title:
            title = line[2:].strip()
        elif not fenced and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is None:
            opening.append(line)
        else:
            sections[current].append(line)
    return title, "\n".join(opening).strip(), {k: "\n".join(v).strip() for k, v in sections.items()}


def promote_headings(text: str) -> str:
    """Move every heading up one level (``###`` -> ``##``) outside fenced code blocks."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line[1:] if not fenced and re.match(r"#{3,6} ", line) else line)
    return "\n".join(out)


def unlink(text: str) -> str:
    """Links to places inside README.md or the repository become their text; web links stay."""
    return ANCHOR_LINK.sub(r"\1", text)


def readme_page(page: InstructorPage, sections: dict[str, str]) -> str:
    """The Markdown of one instructor's page, made of README.md's sections."""
    missing = [s for s in page.sections if s not in sections]
    if missing:
        raise ReadmeError(f"README.md has no section `## {missing[0]}`, which the instructor's "
                          f"page `{page.name}` is made of. Restore the section, or change "
                          f"INSTRUCTOR_PAGES in vae_course/tools/site_landing.py.")
    parts = [f"# {page.title}", ""]
    for number, name in enumerate(page.sections):
        if number:  # the first section's title is the page's; later ones are subsections
            parts += [f"## {name}", ""]
        parts += [unlink(promote_headings(sections[name])), ""]
    return "\n".join(parts)


def duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def lesson_table(lessons: list[Lesson]) -> list[str]:
    rows = ["| lesson | time |", "|---|---|"]
    for lesson in lessons:
        time = f"about {duration(lesson.minutes)}" if lesson.minutes else "not stated"
        rows.append(f"| [{lesson.title}]({lesson.name}.ipynb) | {time} |")
    total = sum(lesson.minutes or 0 for lesson in lessons)
    rows.append(f"| **all {len(lessons)} lessons** | **about {duration(total)}** |")
    return rows


def lesson_summary(lesson: Lesson) -> list[str]:
    lines = [f"### [{lesson.title}]({lesson.name}.ipynb)", ""]
    if lesson.goals:
        lines += ["**You will learn to**", ""] + [f"- {goal}" for goal in lesson.goals] + [""]
    if lesson.form:
        lines += [lesson.form, ""]
    return lines


def toctree(caption: str, names: list[str]) -> list[str]:
    return ["```{toctree}", ":hidden:", ":maxdepth: 1", f":caption: {caption}", "", *names,
            "```", ""]


EDITION_NOTE = {
    Edition.STUDENT: ("This is the **student edition**: every lesson as you receive it, with its "
                      "figures and results, the exercises left for you to do, and links to run "
                      "each notebook yourself."),
    Edition.INSTRUCTOR: ("This is the **instructor's edition**: the complete solutions with their "
                         "outputs, the key and feedback of every concept question, and the "
                         "instructor's pages. It gives every answer away: publish the student "
                         "edition for students, and keep this one private."),
}


def landing_page(readme: str, lessons: list[Lesson], edition: Edition) -> str:
    """The Markdown of the landing page (``index``) of one edition."""
    title, opening, _ = readme_sections(readme)
    lines = [f"# {title or 'The course'}", "", EDITION_NOTE[edition], "", unlink(opening), "",
             "## The lessons, in order", "",
             "Work through them in this order: each builds on the ones before it.", "",
             *lesson_table(lessons), ""]
    for lesson in lessons:
        lines += lesson_summary(lesson)
    lines += toctree("Lessons", [lesson.name for lesson in lessons])
    if edition == Edition.INSTRUCTOR:
        lines += ["## For instructors", ""]
        lines += [f"- [{page.title}]({page.name}.md)" for page in INSTRUCTOR_PAGES] + [""]
        lines += toctree("For instructors", [page.name for page in INSTRUCTOR_PAGES])
    return "\n".join(lines)
