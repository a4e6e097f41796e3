"""What a check can say: statuses and results (vae_course.checks.results)."""

import pytest

from vae_course.checks.results import Result, Status


def test_a_result_speaks_the_closed_vocabulary_of_statuses():
    assert [str(s) for s in Status] == ["passed", "failed", "not attempted", "error", "timed out"]
    assert len({s.icon for s in Status}) == len(Status)
    result = Result("gaussian_kl", "passed", "gaussian_kl works.")
    assert result.status is Status.PASSED and result.passed
    assert result.as_dict() == {"exercise": "gaussian_kl", "status": "passed",
                                "message": "gaussian_kl works."}
    assert str(result) == repr(result) == "✅ gaussian_kl: passed. gaussian_kl works."
    assert not Result("gaussian_kl", Status.TIMED_OUT, "too slow.").passed
    with pytest.raises(ValueError):
        Result("gaussian_kl", "passd", "a typo is no status")
