"""Each map page in headless Chromium, offline: every request not to 127.0.0.1 is blocked.

Needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright`` Python package (its
own browser download is never used). Without them the tests are skipped locally and FAIL when
the environment variable CI is set. Screenshots go to $BIENMOC_ARTIFACTS (default
``test-artifacts/`` at the top of the repository).
"""
import os
import re
from pathlib import Path

import pytest

from bienmoc.testing import serve_app

from bienmoc.storage import GeoPackageStore

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent


def _need(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    d = Path(os.environ.get("BIENMOC_ARTIFACTS") or ROOT / "test-artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from bienmoc.api import create_app
    from test_pages import map_layers

    store = GeoPackageStore(tmp_path_factory.mktemp("browser") / "maps.gpkg")
    store.write_many(map_layers())
    with serve_app(create_app(store=store, tiles=None)) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "the playwright Python package is missing")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--headless=new", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-quic"])
        yield b
        b.close()


class Visit:
    """One page load with every console error, page error, failed and blocked request."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.errors, self.failed, self.blocked, self.dialogs = [], [], [], []
        p = self.page
        p.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        p.on("pageerror", lambda e: self.errors.append(str(e)))
        p.on("requestfailed", lambda r: self.failed.append(r.url))
        p.on("response", lambda r: self.failed.append(f"{r.status} {r.url}")
             if r.status >= 400 else None)
        p.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r):
            if r.request.url.startswith("http://127.0.0.1:"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        p.route("**/*", route)
        # every Content-Security-Policy violation (the browser also logs each to the console)
        self.csp = []
        p.add_init_script(CSP_LISTENER)
        p.on("console", lambda m: self.csp.append(m.text)
             if "Content Security Policy" in m.text else None)
        self.response = p.goto(url, wait_until="load")

    def ready(self) -> list[dict]:
        self.page.wait_for_selector("html[data-bienmoc-ready]:not([data-bienmoc-busy])",
                                    state="attached", timeout=30_000)
        return self.page.evaluate("() => window.bienmoc.maps.map(s => s.stats)")

    def csp_violations(self) -> list:
        return self.csp + self.page.evaluate("() => window.__csp || []")

    def assert_clean(self) -> None:
        assert self.csp_violations() == []
        csp = self.response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert self.errors == [] and self.failed == [] and self.blocked == []
        assert self.dialogs == []
        assert self.page.evaluate("() => window.__xss === undefined")
        assert self.page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0


CSP_LISTENER = """document.addEventListener('securitypolicyviolation', e => {
  (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI); });"""


# Popups are built by maps.js from JSON: render every popup of a layer group into the page.
OPEN_ALL_POPUPS = """(kind) => {
  const st = window.bienmoc.maps[0], box = document.createElement('div');
  box.id = 'bm-popups'; document.body.appendChild(box);
  const layers = kind === 'incidents' ? st.cluster.getLayers()
    : st.groups.markers.getLayers().concat(st.groups.works.getLayers());
  for (const ly of layers) { box.appendChild(st.popupFor(ly)); }
  return box.textContent;
}"""


@pytest.mark.slow
def test_progress_map_in_chromium(browser, server, artifacts):
    from test_pages import AS_OF, XSS

    v = Visit(browser, f"{server}/maps/progress?as_of={AS_OF}")
    (stats,) = v.ready()
    assert stats["errors"] == []
    assert stats["markers"] == 8 and stats["works"] == 2 and stats["stalled"] == 1
    assert stats["overdue"] == 1 and stats["never_inspected"] == 3
    text = v.page.evaluate(OPEN_ALL_POPUPS, "progress")
    assert "Số hiệu mốc: 102(1)" in text and "Kè bảo vệ mốc 101" in text
    assert XSS[1] in text                       # shown as text (work title, province)
    assert "chậm tiến độ" in text and "quá hạn" in text and "10/01/2020" in text
    # a real click on a canvas marker opens its popup
    v.page.evaluate("""() => { const st = window.bienmoc.maps[0];
        const m = st.groups.markers.getLayers().find(l => l.bienmoc.number === '103');
        st.map.setView(m.getLatLng(), 16, {animate: false}); }""")
    v.page.wait_for_timeout(300)
    xy = v.page.evaluate("""() => { const st = window.bienmoc.maps[0];
        const m = st.groups.markers.getLayers().find(l => l.bienmoc.number === '103');
        const p = st.map.latLngToContainerPoint(m.getLatLng());
        const r = st.map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }""")
    v.page.mouse.click(*xy)
    v.page.wait_for_selector(".leaflet-popup-content .bm-popup", timeout=5000)
    assert "Số hiệu mốc: 103" in v.page.inner_text(".leaflet-popup-content")
    v.page.screenshot(path=str(artifacts / "map-progress.png"))
    v.assert_clean()


@pytest.mark.slow
def test_incidents_map_in_chromium(browser, server, artifacts):
    from test_pages import XSS

    v = Visit(browser, f"{server}/maps/incidents")
    (stats,) = v.ready()
    assert stats["errors"] == [] and stats["mode"] == "points"
    assert stats["incidents"] == 7 and stats["total"] == 7
    text = v.page.evaluate(OPEN_ALL_POPUPS, "incidents")
    for p in XSS:
        assert p in text
    assert "khu vực mốc" in text and "phía Lào" in text and "phía Việt Nam" in text
    assert "01/03/2025" in text
    assert v.page.evaluate("() => document.querySelectorAll('#bm-popups script').length") == 0
    assert v.page.evaluate("() => document.querySelectorAll('.leaflet-heatmap-layer').length") \
        == 1
    # a real click on an (unclustered) incident opens its popup: the payload shows as text
    v.page.evaluate("""() => { const st = window.bienmoc.maps[0];
        const m = st.cluster.getLayers().find(l => l.bienmoc.id === 'V-000005');
        st.map.setView(m.getLatLng(), 17, {animate: false}); }""")
    v.page.wait_for_timeout(400)
    xy = v.page.evaluate("""() => { const st = window.bienmoc.maps[0];
        const m = st.cluster.getLayers().find(l => l.bienmoc.id === 'V-000005');
        const p = st.map.latLngToContainerPoint(m.getLatLng());
        const r = st.map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }""")
    v.page.mouse.click(*xy)
    v.page.wait_for_selector(".leaflet-popup-content .bm-popup", timeout=5000)
    assert XSS[1] in v.page.inner_text(".leaflet-popup-content")
    # the legend's check boxes filter: only 'other' (2 incidents)
    v.page.evaluate("""() => document.querySelectorAll('input[data-bm-filter="kind"]').forEach(
        b => { if (b.value !== 'other') { b.click(); } })""")
    v.page.wait_for_function("() => window.bienmoc.maps[0].stats.incidents === 2",
                             timeout=10_000)
    v.ready()
    v.page.screenshot(path=str(artifacts / "map-incidents.png"))
    v.assert_clean()
    en = Visit(browser, f"{server}/maps/incidents?lang=en&from=2025-01-01")
    (stats,) = en.ready()
    assert stats["incidents"] == 5
    assert "Lao side" in en.page.evaluate(OPEN_ALL_POPUPS, "incidents")
    en.assert_clean()


@pytest.mark.slow
def test_overview_and_index_in_chromium(browser, server, artifacts):
    v = Visit(browser, f"{server}/maps/overview")
    (stats,) = v.ready()
    assert stats["markers"] == 8 and stats["gates"] == 2 and stats["errors"] == []
    assert v.page.locator(".bm-gate").count() == 2
    assert v.page.locator(".bm-country-label").inner_text().strip().upper() == "LÀO"
    # the legend's colours come from classes (no style attributes under the CSP)
    assert v.page.evaluate("""() => getComputedStyle(document.querySelector(
        '.bienmoc-legend .ring')).borderTopColor""") == "rgb(253, 174, 97)"   # damaged
    assert v.page.evaluate("""() => getComputedStyle(document.querySelector(
        '.bienmoc-legend .sw')).backgroundColor""") == "rgb(26, 150, 65)"   # built
    v.page.screenshot(path=str(artifacts / "map-overview.png"))
    v.assert_clean()
    # the policy blocks what an injection would add: an inline script does not run, and
    # the violation is seen (so assert_clean would catch one in the pages themselves)
    v.page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__xss = 9'; document.body.appendChild(s); }""")
    v.page.wait_for_timeout(200)
    assert v.page.evaluate("() => window.__xss === undefined")
    assert any("script-src" in c for c in v.csp_violations())
    idx = Visit(browser, f"{server}/")
    idx.page.click("text=Bản đồ vụ việc, vi phạm")
    idx.page.wait_for_url("**/maps/incidents**")
    assert idx.ready()[0]["incidents"] == 7
    idx.assert_clean()


@pytest.mark.slow
def test_docs_page_works_offline(browser, server, artifacts):
    """/docs (Swagger UI) from the vendored bundle: with every non-local request blocked, no
    request fails or is blocked, no JS error, no CSP violation, the operations are listed."""
    v = Visit(browser, f"{server}/docs")
    v.page.wait_for_selector(".opblock", timeout=30_000)
    assert v.response.status == 200
    paths = v.page.eval_on_selector_all(".opblock-summary-path",
                                        "els => els.map(e => e.textContent)")
    assert "/api/status" in paths and "/collections" in paths and len(paths) >= 8
    assert "/collections/markers/items" in paths and "/collections/incidents/items" in paths
    # one operation opens and shows its parameters (the UI is interactive, not a shell)
    v.page.locator(".opblock-summary-path", has_text="/api/status").first.click()
    v.page.wait_for_selector(".opblock.is-open .parameters", timeout=10_000)
    # and runs it against the app (connect-src 'self'): the live answer is shown
    v.page.click(".opblock.is-open .try-out__btn")
    v.page.click(".opblock.is-open .execute")
    v.page.wait_for_selector(".opblock.is-open .live-responses-table .response-col_status",
                             timeout=10_000)
    assert "200" in v.page.inner_text(".opblock.is-open .live-responses-table tbody")
    v.page.screenshot(path=str(artifacts / "docs.png"))
    assert v.csp_violations() == [], v.csp_violations()
    assert v.errors == [] and v.failed == [] and v.blocked == [], (v.errors, v.failed, v.blocked)
    csp = v.response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script_src == "'self'"                  # no CDN, no hash, nothing inline
    assert "http" not in csp and "'unsafe-eval'" not in csp and "'unsafe-inline'" not in csp
