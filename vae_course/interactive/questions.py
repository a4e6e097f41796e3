"""Concept questions: multiple choice, with an explanation once answered.

In a notebook a question shows as radio buttons, a "Check" button and the feedback;
a page that cannot run widgets shows the question with its answer folded away; and
:meth:`ConceptQuestion.answer` works with no widgets at all (the plain-text fallback).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class Feedback:
    correct: bool
    text: str


@dataclass
class ConceptQuestion:
    """A multiple-choice question whose explanation appears once it is answered.

    In a notebook the question shows as radio buttons and a "Check" button; without
    widgets, call :meth:`answer` with the number of the option you choose (1-based).
    """

    question: str
    options: list[str]
    correct: int  # 1-based number of the right option
    explanation: str

    def __post_init__(self):
        if len(self.options) < 2:
            raise ValueError(f"a concept question needs at least 2 options, got {len(self.options)}")
        if not 1 <= self.correct <= len(self.options):
            raise ValueError(f"correct must be between 1 and {len(self.options)}, got {self.correct}")

    def answer(self, choice: int) -> Feedback:
        """Judge option number ``choice`` (1-based); the feedback carries the explanation."""
        if not isinstance(choice, (int, np.integer)) or not 1 <= choice <= len(self.options):
            return Feedback(False, f"Choose an option number from 1 to {len(self.options)}.")
        if choice == self.correct:
            return Feedback(True, f"Correct. {self.explanation}")
        return Feedback(False, f"Not quite: option {choice} is not the best answer. "
                               f"{self.explanation}")

    def text(self) -> str:
        lines = [self.question] + [f"  {i}. {o}" for i, o in enumerate(self.options, 1)]
        lines.append("Answer with .answer(<option number>).")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def html(self) -> str:
        """The question for a page without widgets; the answer is folded away."""
        items = "".join(f"<li>{html.escape(o)}</li>" for o in self.options)
        return (f"<div><b>Concept question.</b> {html.escape(self.question)}<ol>{items}</ol>"
                f"<details><summary>Answer</summary>Option {self.correct}. "
                f"{html.escape(self.explanation)}</details></div>")

    def widget(self):
        """An ipywidgets box: the question, radio buttons, a Check button and the feedback."""
        import ipywidgets as w

        choices = w.RadioButtons(options=[(o, i) for i, o in enumerate(self.options, 1)],
                                 value=None, layout=w.Layout(width="auto"))
        button = w.Button(description="Check", button_style="primary")
        feedback = w.HTML()
        feedback.add_class("vae-feedback")

        def on_click(_):
            if choices.value is None:
                feedback.value = "<i>Pick an option first.</i>"
                return
            fb = self.answer(choices.value)
            colour = "green" if fb.correct else "#b00"
            feedback.value = f'<div style="color:{colour}">{html.escape(fb.text)}</div>'

        button.on_click(on_click)
        title = w.HTML(f"<b>Concept question.</b> {html.escape(self.question)}")
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


def concept_question(question: str, options: list[str], correct: int,
                     explanation: str) -> ConceptQuestion:
    """Make a :class:`ConceptQuestion`; as a cell's last line it shows as a widget."""
    return ConceptQuestion(question, list(options), correct, explanation)
