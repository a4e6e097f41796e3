"""Concept questions (vae_course.interactive.questions).

The last part tests one question on its own: the feedback of each option, when the
answer is revealed, its text, HTML and widget. The rest reads the concept questions of
every notebook in solutions/ as an exam item is read.

A student who does not understand must not be able to score by test-taking:

* the right answer's position is spread over the course (no position holds more than
  40% of the right answers);
* the right option is the longest in at most a third of the questions, and never more
  than 1.5 times the mean length of the other options;
* the options of one question are alike in length (the longest at most 2.5 times the
  shortest);
* every option has its own feedback, and a first wrong answer shows that feedback
  without revealing the right option or the explanation;
* every notebook has at least one "predict, then run" question: marked
  ``predict=True``, followed later by the code cell that answers it (tagged
  ``prediction-answer``), and the markdown after that cell refers back to the
  prediction (it says "predict...").

The questions are read from the notebooks' source with :mod:`ast` (each
``concept_question(...)`` call's arguments must be literals), so nothing is executed.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from vae_course.interactive.questions import WIDGET_VIEW, ConceptQuestion, concept_question

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
FIELDS = ("question", "options", "correct", "explanation", "feedback")
MAX_POSITION_SHARE = 0.4
MAX_LONGEST_SHARE = 1 / 3
MAX_LENGTH_RATIO = 1.5  # right option against the mean of the others
MAX_SPREAD = 2.5  # longest option against the shortest, within one question
ANSWER_TAG = "prediction-answer"


def read_questions(nb) -> list[tuple[int, ConceptQuestion]]:
    """(cell index, question) for every ``concept_question(...)`` call in the notebook."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "concept_question(" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "concept_question":
                args = dict(zip(FIELDS, (ast.literal_eval(a) for a in node.args)))
                args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
                found.append((i, ConceptQuestion(**args)))
    return found


def course_questions(folder: Path = SOLUTIONS) -> list[tuple[str, ConceptQuestion]]:
    out = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        out += [(f"{path.stem} cell {i}", q) for i, q in read_questions(nb)]
    return out


def position_counts(questions) -> Counter:
    return Counter(q.correct for _, q in questions)


def longest_is_right(questions) -> list[str]:
    return [name for name, q in questions
            if len(q.options[q.correct - 1]) >= max(len(o) for o in q.options)]


def length_ratios(questions) -> dict[str, float]:
    """Length of the right option over the mean length of the others, per question."""
    ratios = {}
    for name, q in questions:
        others = [len(o) for k, o in enumerate(q.options, 1) if k != q.correct]
        ratios[name] = len(q.options[q.correct - 1]) / (sum(others) / len(others))
    return ratios


QUESTIONS = course_questions()


def test_the_course_has_concept_questions():
    assert QUESTIONS, "no concept questions found in solutions/: the tests below would test nothing"


def test_the_reader_finds_the_questions_and_their_arguments():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'concept_question("Q?", ["a", "bb"], 2, "why", ["not a", "yes bb"], predict=True)')])
    [(index, q)] = read_questions(nb)
    assert index == 0 and q.options == ["a", "bb"] and q.correct == 2 and q.predict
    assert q.feedback == ["not a", "yes bb"]


def test_right_answers_are_spread_over_the_positions():
    counts = position_counts(QUESTIONS)
    top, n = counts.most_common(1)[0]
    assert n <= MAX_POSITION_SHARE * len(QUESTIONS), (
        f"option {top} is the right answer in {n} of {len(QUESTIONS)} questions "
        f"(at most {MAX_POSITION_SHARE:.0%} allowed); positions: {dict(sorted(counts.items()))}. "
        f"Move the right answer of some questions to another position.")


def test_the_right_option_is_seldom_the_longest():
    longest = longest_is_right(QUESTIONS)
    assert len(longest) <= MAX_LONGEST_SHARE * len(QUESTIONS), (
        f"the right option is the longest in {len(longest)} of {len(QUESTIONS)} questions "
        f"(at most a third allowed): {', '.join(longest)}. Shorten those right options or "
        f"lengthen the distractors.")


def test_the_right_option_is_never_much_longer_than_the_others():
    too_long = {name: round(r, 2) for name, r in length_ratios(QUESTIONS).items()
                if r > MAX_LENGTH_RATIO}
    assert not too_long, (f"right option longer than {MAX_LENGTH_RATIO} x the mean of the "
                          f"others: {too_long}")


def test_the_options_of_a_question_are_alike_in_length():
    uneven = {name: [len(o) for o in q.options] for name, q in QUESTIONS
              if max(map(len, q.options)) > MAX_SPREAD * min(map(len, q.options))}
    assert not uneven, f"options too different in length (characters): {uneven}"


def test_every_option_has_its_own_feedback():
    missing = [name for name, q in QUESTIONS if q.feedback is None]
    assert not missing, f"questions without feedback per option (pass feedback=[...]): {missing}"
    repeated = [name for name, q in QUESTIONS if len(set(q.feedback)) < len(q.options)]
    assert not repeated, f"questions where two options share one feedback line: {repeated}"


def test_a_first_wrong_answer_does_not_reveal_the_right_one():
    leaks = []
    for name, q in QUESTIONS:
        right = q.options[q.correct - 1]
        for k in range(1, len(q.options) + 1):
            if k == q.correct:
                continue
            fb = q.judge(k)
            if fb.correct or fb.revealed or right in fb.text or q.explanation in fb.text \
                    or f"option {q.correct}" in fb.text.lower():
                leaks.append(f"{name}, option {k}")
    assert not leaks, f"a first wrong answer gives the right one away: {leaks}"


def _predictions(nb) -> list[str]:
    """Problems with the predict-then-run questions of one notebook (empty when fine)."""
    predicted = [i for i, q in read_questions(nb) if q.predict]
    if not predicted:
        return ["no predict-then-run question (concept_question(..., predict=True))"]
    answers = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and ANSWER_TAG in c.metadata.get("tags", [])]
    problems = []
    for k, p in enumerate(predicted):
        nxt = predicted[k + 1] if k + 1 < len(predicted) else len(nb.cells)
        mine = [a for a in answers if p < a < nxt]
        if not mine:
            problems.append(f"the prediction in cell {p} is not followed by a code cell tagged "
                            f"{ANSWER_TAG!r} (the cell that answers it) before the next one")
            continue
        after = [c for c in nb.cells[mine[0] + 1:] if c.cell_type == "markdown"][:1]
        if not after or "predict" not in after[0].source.lower():
            problems.append(f"the markdown after cell {mine[0]} does not refer back to the "
                            f"prediction of cell {p} (say what the prediction should have been)")
    return problems


def test_the_prediction_check_can_fail():
    code = nbformat.v4.new_code_cell
    q = code('concept_question("Predict?", ["a", "b"], 1, "why", ["yes", "no"], predict=True)')
    plain = nbformat.v4.new_notebook(cells=[code("1")])
    assert "no predict-then-run" in _predictions(plain)[0]
    untagged = nbformat.v4.new_notebook(cells=[q, code("1")])
    assert ANSWER_TAG in _predictions(untagged)[0]
    answer = code("1")
    answer.metadata["tags"] = [ANSWER_TAG]
    silent = nbformat.v4.new_notebook(cells=[q, answer, nbformat.v4.new_markdown_cell("So.")])
    assert "refer back" in _predictions(silent)[0]
    good = nbformat.v4.new_notebook(cells=[q, answer, nbformat.v4.new_markdown_cell(
        "As you may have predicted, a.")])
    assert _predictions(good) == []


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_notebook_asks_to_predict_then_run(path):
    problems = _predictions(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: " + "; ".join(problems)


# ---- one question: its feedback, its text, its widget (no notebook) ----------------

WHY = ["mu is computed by the encoder, not drawn.", "std is computed from logvar, not drawn.",
       "Right: eps is the only random draw."]


def make_question(feedback=WHY, predict=False):
    return concept_question("Which part is random?", ["mu", "std", "eps"], 3,
                                    "Only eps is drawn at random.", feedback, predict=predict)


def test_a_wrong_answer_explains_that_option_and_allows_another_try():
    q = make_question()
    first = q.answer(1)
    assert not first.correct and not first.revealed
    assert WHY[0] in first.text and "Try another option" in first.text
    assert "Only eps is drawn" not in first.text and "option 3" not in first.text
    second = q.answer(2)  # the second wrong try reveals the answer and the explanation
    assert not second.correct and second.revealed
    assert WHY[1] in second.text and "option 3" in second.text and "Only eps" in second.text
    right = q.answer(3)
    assert right.correct and right.text.startswith("Correct.")
    assert WHY[2] in right.text and "Only eps is drawn at random." in right.text


def test_the_right_answer_first_time_explains_at_once():
    fb = make_question().answer(3)
    assert fb.correct and fb.revealed and "Only eps" in fb.text


def test_invalid_choices_do_not_count_as_tries():
    q = make_question()
    for bad in (0, 4, "3", None):
        fb = q.answer(bad)
        assert not fb.correct and "from 1 to 3" in fb.text
    assert not q.answer(1).revealed  # still the first real try


def test_judge_is_pure():
    q = make_question()
    assert q.judge(1).text == q.judge(1).text and not q.judge(1).revealed
    assert q.judge(1, wrong_before=1).revealed
    assert q.wrong_tries == 0


def test_question_rejects_a_correct_number_out_of_range():
    with pytest.raises(ValueError, match="between 1 and 2"):
        concept_question("?", ["a", "b"], 3, "...")
    with pytest.raises(ValueError, match="at least 2 options"):
        concept_question("?", ["a"], 1, "...")


def test_question_rejects_feedback_that_does_not_match_the_options():
    with pytest.raises(ValueError, match="one line per option: 3 options but 2"):
        make_question(feedback=WHY[:2])
    with pytest.raises(ValueError, match="feedback of option 2 is empty"):
        make_question(feedback=[WHY[0], " ", WHY[2]])


def test_a_question_without_feedback_still_withholds_the_answer_once():
    q = concept_question("?", ["a", "b", "c"], 3, "Because c.")
    first = q.answer(1)
    assert "Option 1 is not the best answer" in first.text and "Because c" not in first.text


def test_question_text_fallback_lists_options_and_says_how_to_answer():
    text = repr(make_question())
    assert text.splitlines()[:4] == ["Which part is random?", "  1. mu", "  2. std", "  3. eps"]
    assert ".answer(" in text
    assert repr(make_question(predict=True)).startswith("Predict before you run the next cell:")


def test_question_static_html_folds_the_answer_away():
    page = make_question().html()
    assert "<li>eps</li>" in page
    answer = page.index("<details>")
    assert page.index("Only eps") > answer and page.index("Option 3") > answer
    assert page.index(WHY[0]) > answer  # the feedback of each option is folded away too
    assert "Predict, then run." in make_question(predict=True).html()


def test_question_check_button_gives_feedback_then_a_second_try():
    box = make_question().widget()
    _, choices, button, feedback = box.children
    button.click()
    assert "Pick an option first" in feedback.value
    choices.value = 1
    button.click()
    assert "Not yet." in feedback.value and "encoder" in feedback.value
    assert "Only eps" not in feedback.value and "vae-explanation" not in feedback.value
    choices.value = 3
    button.click()
    assert "Correct." in feedback.value and "Only eps" in feedback.value
    assert "vae-explanation" in feedback.value


def test_question_widget_reveals_after_two_wrong_tries():
    _, choices, button, feedback = make_question().widget().children
    for wrong in (1, 2):
        choices.value = wrong
        button.click()
    assert "The answer is option 3" in feedback.value and "vae-explanation" in feedback.value


def test_question_displays_as_widget_with_text_and_html():
    bundle = make_question()._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"]
    assert bundle["text/plain"].startswith("Which part is random?")
    assert "<details>" in bundle["text/html"]
