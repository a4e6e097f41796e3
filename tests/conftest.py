"""Shared test settings.

* Notebook tests (nbval, the student notebooks, the grader) use one model cache,
  ``.cache/models`` in the repository, unless ``VAE_COURSE_CACHE`` is set, so a model
  trained by one notebook is reused by the next and by later test runs.
* ``VAE_COURSE_DATA`` is used as it is (CI points it at the shared data folder).
"""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("VAE_COURSE_CACHE", str(REPO / ".cache" / "models"))
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval waits only 5 s between outputs by default
            item.output_timeout = 60


@pytest.fixture
def repo() -> Path:
    return REPO
