"""Interactive pieces for the notebooks, each a thin ipywidgets layer over a pure function.

The pure functions (``answer`` for a concept question, ...) are what the tests call;
the widgets only wire sliders and buttons to them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


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
        if not 1 <= self.correct <= len(self.options):
            raise ValueError(f"correct must be between 1 and {len(self.options)}, got {self.correct}")

    def answer(self, choice: int) -> Feedback:
        """Judge option number ``choice`` (1-based); the feedback carries the explanation."""
        if not isinstance(choice, int) or not 1 <= choice <= len(self.options):
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

    def widget(self):
        """An ipywidgets box: the question, radio buttons, a Check button and the feedback."""
        import ipywidgets as w

        choices = w.RadioButtons(options=[(o, i) for i, o in enumerate(self.options, 1)],
                                 value=None, layout=w.Layout(width="auto"))
        button = w.Button(description="Check", button_style="primary")
        feedback = w.HTML()

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

    def _ipython_display_(self):
        from IPython.display import display

        try:
            display(self.widget())
        except ImportError:  # no ipywidgets: fall back to text
            print(self.text())


def concept_question(question: str, options: list[str], correct: int,
                     explanation: str) -> ConceptQuestion:
    """Make a :class:`ConceptQuestion`; as a cell's last line it shows as a widget."""
    return ConceptQuestion(question, list(options), correct, explanation)
