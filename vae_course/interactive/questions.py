"""Concept questions: multiple choice, with feedback for each option and a second try.

A wrong choice says why *that* option is wrong and lets the student try again; the
full explanation comes with the right answer, or after a second wrong try (which also
names the right option). In a notebook a question shows as radio buttons, a "Check"
button and the feedback; a page that cannot run widgets shows the question with its
answer folded away; and :meth:`ConceptQuestion.answer` works with no widgets at all
(the plain-text fallback).

A question marked ``predict=True`` is asked *before* the cell that answers it: the
student commits to an outcome, then runs the cell and compares.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
REVEAL_AFTER = 2  # wrong tries after which the explanation and the right option are shown


@dataclass(frozen=True)
class Feedback:
    correct: bool
    text: str
    revealed: bool = False  # True when the text gives the explanation (and so the answer)


@dataclass
class ConceptQuestion:
    """A multiple-choice question with feedback per option and a second try.

    In a notebook the question shows as radio buttons and a "Check" button; without
    widgets, call :meth:`answer` with the number of the option you choose (1-based).

    Args:
        question: the stem.
        options: the choices, alike in length and form.
        correct: 1-based number of the right option.
        explanation: the full explanation, shown with the right answer or after
            a second wrong try.
        feedback: one line per option saying why that option is right or wrong.
        predict: asked before the cell that answers it ("predict, then run").
    """

    question: str
    options: list[str]
    correct: int  # 1-based number of the right option
    explanation: str
    feedback: list[str] | None = None
    predict: bool = False
    wrong_tries: int = field(default=0, init=False, repr=False)

    def __post_init__(self):
        if len(self.options) < 2:
            raise ValueError(f"a concept question needs at least 2 options, got {len(self.options)}")
        if not 1 <= self.correct <= len(self.options):
            raise ValueError(f"correct must be between 1 and {len(self.options)}, got {self.correct}")
        if self.feedback is not None:
            self.feedback = list(self.feedback)
            if len(self.feedback) != len(self.options):
                raise ValueError(f"feedback needs one line per option: {len(self.options)} options "
                                 f"but {len(self.feedback)} feedback lines")
            empty = [i for i, f in enumerate(self.feedback, 1) if not str(f).strip()]
            if empty:
                raise ValueError(f"the feedback of option {empty[0]} is empty: say why that "
                                 f"option is right or wrong")

    def option_feedback(self, choice: int) -> str:
        """Why option ``choice`` (1-based) is right or wrong; a generic line without feedback."""
        if self.feedback is not None:
            return self.feedback[choice - 1]
        return "" if choice == self.correct else f"Option {choice} is not the best answer."

    def judge(self, choice, wrong_before: int = 0) -> Feedback:
        """Judge ``choice`` after ``wrong_before`` wrong tries; pure, nothing is remembered."""
        if not isinstance(choice, (int, np.integer)) or not 1 <= choice <= len(self.options):
            return Feedback(False, f"Choose an option number from 1 to {len(self.options)}.")
        why = self.option_feedback(int(choice))
        if choice == self.correct:
            return Feedback(True, " ".join(p for p in ("Correct.", why, self.explanation) if p),
                            revealed=True)
        if wrong_before + 1 < REVEAL_AFTER:
            return Feedback(False, f"Not yet. {why} Try another option.")
        return Feedback(False, f"Not this one either. {why} The answer is option {self.correct}: "
                               f"{self.options[self.correct - 1]} {self.explanation}", revealed=True)

    def answer(self, choice) -> Feedback:
        """Judge option number ``choice`` (1-based), counting this question's wrong tries."""
        fb = self.judge(choice, self.wrong_tries)
        valid = isinstance(choice, (int, np.integer)) and 1 <= choice <= len(self.options)
        if valid and not fb.correct:
            self.wrong_tries += 1
        return fb

    def text(self) -> str:
        lead = "Predict before you run the next cell: " if self.predict else ""
        lines = [lead + self.question] + [f"  {i}. {o}" for i, o in enumerate(self.options, 1)]
        lines.append("Answer with .answer(<option number>).")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _title(self) -> str:
        kind = "Predict, then run." if self.predict else "Concept question."
        return f"<b>{kind}</b> {html.escape(self.question)}"

    def html(self) -> str:
        """The question for a page without widgets; the answer is folded away."""
        items = "".join(f"<li>{html.escape(o)}</li>" for o in self.options)
        why = ""
        if self.feedback is not None:
            why = "<ol>" + "".join(f"<li>{html.escape(f)}</li>" for f in self.feedback) + "</ol>"
        return (f"<div>{self._title()}<ol>{items}</ol>"
                f"<details><summary>Answer</summary>Option {self.correct}. "
                f"{html.escape(self.explanation)}{why}</details></div>")

    def _feedback_html(self, fb: Feedback) -> str:
        colour = "green" if fb.correct else "#b00"
        cls = "vae-verdict vae-explanation" if fb.revealed else "vae-verdict"
        return f'<div class="{cls}" style="color:{colour}">{html.escape(fb.text)}</div>'

    def widget(self):
        """An ipywidgets box: the question, radio buttons, a Check button and the feedback."""
        import ipywidgets as w

        choices = w.RadioButtons(options=[(o, i) for i, o in enumerate(self.options, 1)],
                                 value=None, layout=w.Layout(width="auto"))
        button = w.Button(description="Check", button_style="primary")
        feedback = w.HTML()
        feedback.add_class("vae-feedback")
        tries = {"wrong": 0}  # per widget: each displayed copy starts afresh

        def on_click(_):
            if choices.value is None:
                feedback.value = "<i>Pick an option first.</i>"
                return
            fb = self.judge(choices.value, tries["wrong"])
            tries["wrong"] += not fb.correct
            feedback.value = self._feedback_html(fb)

        button.on_click(on_click)
        title = w.HTML(self._title())
        box = w.VBox([title, choices, button, feedback])
        box.add_class("vae-concept-question")
        return box

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.text(), "text/html": self.html()}
        try:
            bundle[WIDGET_VIEW] = self.widget()._repr_mimebundle_()[WIDGET_VIEW]
        except ImportError:  # no ipywidgets: the text and HTML still work
            pass
        return bundle


def concept_question(question: str, options: list[str], correct: int, explanation: str,
                     feedback: list[str] | None = None, *, predict: bool = False
                     ) -> ConceptQuestion:
    """Make a :class:`ConceptQuestion`; as a cell's last line it shows as a widget.

    ``feedback`` holds one line per option (why it is right or wrong); ``predict=True``
    marks a question asked before the cell that answers it.
    """
    return ConceptQuestion(question, list(options), correct, explanation, feedback, predict)
