"""The course website in a real browser: the student edition served from a local folder
(``http.server`` on 127.0.0.1, in a thread) and driven in the system's headless Chromium.

From the landing page to a lesson; a figure of it loaded (``naturalWidth > 0``); its
formulas typeset by MathJax (rendered elements, no error); the link to the next lesson;
a search for a word that finds the lesson about it. Every request to a host other than
127.0.0.1 is counted (and blocked) and fails the test, as does a missing file of the
site. The site is the one tests/tools/test_site.py builds, once per session.

Skipped when Chromium or Playwright is missing, unless ``VAE_COURSE_REQUIRE_BROWSER=1``
(as in CI), when that is a failure. On failure the page's screenshot is saved to
``test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from browser.needs import need_browser
from tools.test_site import built_site

REPO = Path(__file__).resolve().parents[2]
# myst-parser still uses an attribute that Sphinx 9 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*Check CHANGES for Sphinx API modifications")
ARTIFACTS = REPO / "test-artifacts"
LOCAL_SCHEMES = ("data", "about", "blob")  # never leave the page
# MathJax 2 probes TeX fonts for the hidden MathML copy it adds for screen readers; the
# package ships the STIX fonts it renders with, not those. A local 404, nothing fetched.
IGNORED_MISSING = ("/favicon.ico", "/_static/mathjax/fonts/HTML-CSS/TeX/")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per file would drown pytest's report
        pass


@contextmanager
def served(folder: Path):
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Traffic:
    """Requests to other hosts (blocked) and files the site lacks, as the browser saw them."""

    def __init__(self):
        self.elsewhere: list[str] = []
        self.missing: list[str] = []

    def route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme not in LOCAL_SCHEMES and parts.hostname != "127.0.0.1":
            self.elsewhere.append(url)
            route.abort()
        else:
            route.continue_()

    def response(self, response):
        path = urlsplit(response.url).path
        if response.status >= 400 and not path.startswith(IGNORED_MISSING):
            self.missing.append(f"{response.status} {response.url}")


# Sphinx marks each formula "math notranslate"; MathJax typesets it inside, as .MathJax.
MATH_STATE = """() => {
  const formulas = Array.from(document.querySelectorAll('.math.notranslate'));
  return {formulas: formulas.length,
          unrendered: formulas.filter(f => !f.querySelector('.MathJax, .MathJax_Display')).length,
          errors: document.querySelectorAll('.MathJax_Error, merror').length,
          done: !!(window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0
                   && MathJax.Hub.queue.running === 0)};
}"""


@pytest.mark.browser
def test_the_student_site_works_offline_in_chromium(request, tmp_path_factory):
    lab = need_browser()
    from playwright.sync_api import sync_playwright

    out, _ = built_site(tmp_path_factory)
    traffic = Traffic()
    with served(out / "student") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=lab.chromium(), args=lab.CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        context.route("**/*", traffic.route)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("response", traffic.response)
        try:
            # the landing page: the lessons in order, each a link
            page.goto(f"{url}/index.html")
            table = page.locator("table a.reference")
            assert table.count() == 8, table.all_inner_texts()
            assert table.first.inner_text().startswith("01 ")
            # a lesson
            table.first.click()
            page.wait_for_url("**/01_autoencoder.html")
            assert page.locator("h1").first.inner_text().startswith("01 ")
            assert page.locator("a.vae-download").count() == 1
            # its figures, loaded
            figures = page.locator("div.cell_output img")
            assert figures.count() > 0
            page.wait_for_function("() => Array.from(document.querySelectorAll('div.cell_output "
                                   "img')).every(i => i.complete && i.naturalWidth > 0)",
                                   polling=250)
            # its formulas, typeset from the site's own MathJax
            page.wait_for_function(f"() => {{ const s = ({MATH_STATE})(); "
                                   f"return s.done && s.formulas > 0 && s.unrendered === 0; }}",
                                   polling=250)
            state = page.evaluate(MATH_STATE)
            assert state["errors"] == 0 and state["formulas"] > 0 == state["unrendered"], state
            # the next lesson
            page.locator('div.related.bottom a[title="Next document"]').click()
            page.wait_for_url("**/02_latent_irregularity.html")
            assert page.locator("h1").first.inner_text().startswith("02 ")
            # the search, from the sidebar
            page.locator('#searchbox input[name="q"]').fill("reparameterization")
            page.locator('#searchbox input[name="q"]').press("Enter")
            page.wait_for_url("**/search.html?q=reparameterization*")
            hits = page.locator("#search-results ul.search li a")
            hits.first.wait_for()
            assert any("03_reparameterization.html" in (hits.nth(i).get_attribute("href") or "")
                       for i in range(hits.count())), hits.all_inner_texts()
            # a figure that is a widget's stored picture
            page.goto(f"{url}/05_sampling_and_interpolation.html")
            note = page.locator(".vae-static-widget").first
            note.scroll_into_view_if_needed()
            assert "needs a running kernel" in note.inner_text()
            page.wait_for_function("() => Array.from(document.querySelectorAll('div.cell_output "
                                   "img')).every(i => i.complete && i.naturalWidth > 0)",
                                   polling=250)
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{request.node.name}.png")
            raise
        finally:
            browser.close()
    assert not traffic.elsewhere, f"requests to other hosts: {traffic.elsewhere}"
    assert not traffic.missing, f"files the site lacks: {traffic.missing}"
