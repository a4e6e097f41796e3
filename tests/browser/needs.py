"""What every browser test needs first: Playwright and Debian's Chromium, or a clear reason.

Where the browser tests are required (``VAE_COURSE_REQUIRE_BROWSER=1``, as CI sets), a
missing piece fails the test; elsewhere it skips with the command that installs it.
"""

import os

import pytest


def need_browser():
    """The driver module :mod:`browser.lab`, or a skip (a failure where the test is required)."""
    required = os.environ.get("VAE_COURSE_REQUIRE_BROWSER") == "1"
    missing = None
    try:
        from browser import lab
    except ImportError as exc:
        missing, lab = f"Playwright is not installed ({exc}); pip install playwright", None
    if lab is not None and lab.chromium() is None:
        missing = "Chromium is not installed; install it with `apt-get install chromium`"
    if missing and required:
        pytest.fail(f"{missing} (VAE_COURSE_REQUIRE_BROWSER=1 makes this an error)")
    if missing:
        pytest.skip(missing)
    return lab
