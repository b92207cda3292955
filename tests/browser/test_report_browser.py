"""The fleet report's HTML page in a real browser: Debian's chromium, headless, driven by Selenium.

The page is rendered by the collection's own code from reports with every outcome (an unprotected
host, a refused one, a very long host name; a rollout, a check-mode rollout, an audit, an
interrupted run), loaded from a file, measured in the browser (order of the rows, tiles and their
counts, host names on one line, rollout panels absent from the audit, each problem stated once)
and photographed: the screenshots (tests/output/browser/*.png) are checked for content and for the
unprotected tile's colour where the browser drew it.

The browser is installed by ``make browser-deps`` (Debian packages chromium, chromium-driver). When
it is missing the tests FAIL; set MDE_SKIP_BROWSER_TESTS=1 to skip them on a machine without it (a local
run only: with CI=true they fail all the same).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _report
from ansible_collections.mdeops.defender.plugins.plugin_utils import _report_files
from ansible_collections.mdeops.defender.plugins.plugin_utils._report_html import COLORS
from tests import report_fixtures

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "output" / "browser"
CHROMIUM = os.environ.get("MDE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MDE_CHROMEDRIVER", "/usr/bin/chromedriver")
SKIP_ENV = "MDE_SKIP_BROWSER_TESTS"
# The flags a closed network needs (no background connections to hang on) and a throwaway profile.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
    "--window-size=1400,1000",
)


def _missing() -> list[str]:
    return [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(p) and os.access(p, os.X_OK))]


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        msg = "the browser is not installed: %s missing (run `make browser-deps` as root)" % ", ".join(missing)
        if os.environ.get(SKIP_ENV) == "1" and os.environ.get("CI", "").lower() not in ("1", "true"):
            pytest.skip(msg + "; skipped because %s=1" % SKIP_ENV)
        pytest.fail(msg + "; set %s=1 to skip the browser tests on a machine without it" % SKIP_ENV, pytrace=False)
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager look for drivers on the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mde-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (*CHROMIUM_ARGS, "--user-data-dir=" + profile):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    SHOTS.mkdir(parents=True, exist_ok=True)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(SHOTS / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """One report loaded in the browser, with what an operator sees measured by the browser itself."""

    def __init__(self, driver, report: dict, name: str, tmp_path: Path):
        self.driver = driver
        self.report = report
        paths = _report_files.write_report(report, str(tmp_path / name), name)
        driver.set_window_size(1400, 1000)
        driver.get(Path(paths["html"]).as_uri())
        self.errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        self.facts = driver.execute_script(MEASURE)
        # the whole page in one picture: the window as tall as the document
        height = min(int(self.facts["height"]) + 20, 12000)
        driver.set_window_size(1400, height)
        self.png = driver.get_screenshot_as_png()
        self.facts = driver.execute_script(MEASURE)  # geometry as photographed
        (SHOTS / (name + ".png")).write_bytes(self.png)

    def pixel(self, x: float, y: float) -> tuple[int, int, int]:
        from PIL import Image

        ratio = self.facts["dpr"]
        with Image.open(io.BytesIO(self.png)) as img:
            return img.convert("RGB").getpixel((int(x * ratio), int(y * ratio)))

    def image_stats(self) -> tuple[tuple[int, int], int]:
        from PIL import Image

        with Image.open(io.BytesIO(self.png)) as img:
            rgb = img.convert("RGB")
            return rgb.size, len(rgb.getcolors(maxcolors=1 << 20) or [])


# Everything the assertions need, measured in one round trip.
MEASURE = r"""
function rect(el){ if(!el) return null; var r = el.getBoundingClientRect();
  return {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height}; }
function visible(el){ return !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'; }
var out = {dpr: window.devicePixelRatio, height: document.documentElement.scrollHeight,
           width: document.documentElement.scrollWidth, tiles: [], rows: [], columns: [], banners: {}};
document.querySelectorAll('[data-tile]').forEach(function(t){
  out.tiles.push({key: t.getAttribute('data-tile'), count: t.querySelector('b').innerText.trim(),
                  label: t.querySelector('span').innerText.trim(), rect: rect(t), visible: visible(t),
                  bg: getComputedStyle(t).backgroundColor}); });
document.querySelectorAll('#hosts thead th').forEach(function(th){ out.columns.push(th.getAttribute('data-col')); });
document.querySelectorAll('#hosts tbody tr').forEach(function(tr){
  var name = tr.querySelector('.hostname'), cell = tr.querySelector('td.host'), style = getComputedStyle(name);
  var lh = parseFloat(style.lineHeight); if (isNaN(lh)) lh = parseFloat(style.fontSize) * 1.3;
  var problems = [];
  tr.querySelectorAll('.problem').forEach(function(p){
    var what = p.querySelector('.what'), fix = p.querySelector('.fix');
    problems.push({reason: p.getAttribute('data-reason'), code: p.querySelector('.code').innerText,
                   what: what ? what.innerText : null, fix: fix ? fix.innerText : null}); });
  out.rows.push({host: tr.getAttribute('data-host'), outcome: tr.getAttribute('data-outcome'),
                 text: tr.innerText, problems_text: tr.querySelector('td.problems').innerText,
                 name_text: name.innerText, name_lines: name.getClientRects().length,
                 name_rect: rect(name), line_height: lh, font_size: parseFloat(style.fontSize),
                 cell_rect: rect(cell), cell_clipped: cell.scrollWidth > cell.clientWidth + 1,
                 white_space: getComputedStyle(cell).whiteSpace, problems: problems, visible: visible(tr)}); });
['banner-incomplete', 'banner-stopped', 'banner-noorg', 'waves-panel'].forEach(function(id){
  var el = document.getElementById(id); out.banners[id] = el ? {rect: rect(el), visible: visible(el),
    bg: getComputedStyle(el).backgroundColor, text: el.innerText} : null; });
out.body_text = document.body.innerText;
return out;
"""


def _rgb(css: str) -> tuple[int, int, int]:
    inner = css[css.index("(") + 1 : css.index(")")]
    return tuple(int(float(v)) for v in inner.split(",")[:3])


def _hex(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def _close(a, b, tolerance=6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def pages(browser, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    return {
        "rollout": Page(browser, report_fixtures.rollout_report(), "rollout", tmp),
        "check": Page(browser, report_fixtures.check_report(), "check", tmp),
        "audit": Page(browser, report_fixtures.audit_report(), "audit", tmp),
        "interrupted": Page(browser, report_fixtures.rollout_report(status="incomplete"), "interrupted", tmp),
        "calm": Page(
            browser,
            _report.build_report([_report.host_record("ws-01", mde=report_fixtures.mde())], {"goal": "passive"}),
            "calm",
            tmp,
        ),
    }


def test_the_page_loads_without_script_errors(pages):
    for name, page in pages.items():
        assert page.errors == [], (name, page.errors)
        assert page.facts["rows"], name


def test_hosts_are_listed_what_needs_attention_first(pages):
    for name, order in (("rollout", report_fixtures.ROLLOUT_ORDER), ("audit", report_fixtures.AUDIT_ORDER)):
        rows = pages[name].facts["rows"]
        assert [r["host"] for r in rows] == order, name
        # ... and drawn in that order, top to bottom
        tops = [r["cell_rect"]["y"] for r in rows]
        assert tops == sorted(tops) and len(set(tops)) == len(tops), (name, tops)
    check = [r["outcome"] for r in pages["check"].facts["rows"]]
    assert check.index("unprotected") == 0 and check.index("would_change") < check.index("compliant")


def test_tiles_show_the_counts_unprotected_first(pages):
    for name in ("rollout", "audit", "check"):
        page = pages[name]
        tiles = [t for t in page.facts["tiles"] if t["visible"]]
        assert tiles[0]["key"] == "unprotected", (name, [t["key"] for t in tiles])
        first = tiles[0]["rect"]
        assert all(first["y"] <= t["rect"]["y"] + 1 for t in tiles), "the unprotected tile is on the first line"
        assert all(first["x"] <= t["rect"]["x"] for t in tiles if abs(t["rect"]["y"] - first["y"]) < 2)
        by = page.report["totals"]["by_outcome"]
        shown = {t["key"]: int(t["count"]) for t in tiles}
        for outcome, count in by.items():
            if count or outcome in ("unprotected", "failed", "refused", "unreachable", "compliant"):
                assert shown[outcome] == count, (name, outcome, shown)
        assert shown["hosts"] == len(page.report["hosts"])
    rollout = {t["key"]: t for t in pages["rollout"].facts["tiles"]}
    assert int(rollout["refused"]["count"]) == 2 and rollout["refused"]["label"] == "refused"
    assert int(rollout["unprotected"]["count"]) == 1
    assert _close(_rgb(rollout["unprotected"]["bg"]), _hex(COLORS["unprotected"]))


def test_host_names_never_wrap_and_stay_readable(pages):
    for name in ("rollout", "audit"):
        page = pages[name]
        for row in page.facts["rows"]:
            assert row["name_text"] == row["host"], row["host"]
            assert row["name_lines"] == 1, (name, row["host"], "wrapped")
            assert row["name_rect"]["h"] < 1.5 * row["line_height"], (name, row["host"], row["name_rect"])
            assert row["white_space"] == "nowrap" and not row["cell_clipped"], (name, row["host"])
            assert row["font_size"] >= 12
            # the whole name is on the page (the table scrolls sideways rather than cutting it)
            assert row["name_rect"]["x"] >= 0 and row["name_rect"]["w"] > 0
        long_row = next(r for r in page.facts["rows"] if r["host"] == report_fixtures.LONG_NAME)
        short_row = next(r for r in page.facts["rows"] if r["host"] != report_fixtures.LONG_NAME)
        assert long_row["name_rect"]["w"] > 4 * short_row["name_rect"]["w"]
        assert long_row["name_rect"]["h"] == pytest.approx(short_row["name_rect"]["h"], abs=1)


def test_the_audit_hides_the_rollout_panels(pages):
    audit, rollout = pages["audit"].facts, pages["rollout"].facts
    assert audit["banners"]["waves-panel"] is None
    assert not {"wave", "steps", "reboots"} & set(audit["columns"]), audit["columns"]
    assert not {"changed", "reboots"} & {t["key"] for t in audit["tiles"]}
    assert "Progress by wave" not in audit["body_text"]
    # the rollout has them, visibly
    assert rollout["banners"]["waves-panel"]["visible"] and rollout["banners"]["waves-panel"]["rect"]["h"] > 40
    assert {"wave", "steps", "reboots"} <= set(rollout["columns"])
    assert {"changed", "reboots"} <= {t["key"] for t in rollout["tiles"] if t["visible"]}


def test_each_problem_is_stated_once(pages):
    for name in ("rollout", "audit", "check"):
        for row in pages[name].facts["rows"]:
            reasons = [p["reason"] for p in row["problems"]]
            assert len(reasons) == len(set(reasons)), (row["host"], reasons)
            for p in row["problems"]:
                assert row["problems_text"].count(p["code"]) == 1, (row["host"], p["code"])
                for part in (p["what"], p["fix"]):
                    if part:
                        assert row["text"].count(part.strip()) == 1, (row["host"], part)
            assert "Remediation:" not in row["text"] and "] (" not in row["text"], row["text"]
    text = pages["rollout"].facts["body_text"]
    assert text.count(report_fixtures.TAMPER_REMEDIATION) == 1 and text.count(report_fixtures.TAMPER_MSG) == 1
    failed = next(r for r in pages["rollout"].facts["rows"] if r["host"] == "srv-failed-01")
    assert [p["reason"] for p in failed["problems"]] == [
        "tamper_protection_blocks_passive",
        "server_passive_not_forced",
    ]


def test_banners(pages):
    interrupted = pages["interrupted"].facts["banners"]["banner-incomplete"]
    assert interrupted and interrupted["visible"] and "INCOMPLETE" in interrupted["text"]
    assert _close(_rgb(interrupted["bg"]), _hex("#b71c1c"))
    tiles_top = min(t["rect"]["y"] for t in pages["interrupted"].facts["tiles"])
    assert interrupted["rect"]["y"] + interrupted["rect"]["h"] <= tiles_top, "the banner is above the tiles"
    assert pages["rollout"].facts["banners"]["banner-incomplete"] is None
    assert pages["rollout"].facts["banners"]["banner-noorg"] is None
    assert "site_a:!mde_canary" in pages["rollout"].facts["body_text"]


def test_filter_by_outcome_works(browser, pages, tmp_path):
    from selenium.webdriver.support.ui import Select

    Page(browser, report_fixtures.rollout_report(), "filter", tmp_path)
    Select(browser.find_element("id", "outcome")).select_by_value("refused")
    shown = browser.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('#hosts tbody tr'),"
        " function(r){return r.style.display !== 'none';}).map(function(r){return r.getAttribute('data-host');});"
    )
    assert shown == [report_fixtures.LONG_NAME, "ws-refused-noav"]
    assert browser.find_element("id", "shown").text == "2"


def test_screenshots_show_the_page_and_the_unprotected_tile_in_red(pages):
    for name, page in pages.items():
        (width, height), colours = page.image_stats()
        assert width >= 1400 and height >= 600, (name, width, height)
        assert colours > 50, (name, "a blank or nearly blank screenshot", colours)
        assert page.png[:8] == b"\x89PNG\r\n\x1a\n"
    red = _hex(COLORS["unprotected"])
    for name in ("rollout", "audit", "check", "interrupted"):
        page = pages[name]
        tile = next(t for t in page.facts["tiles"] if t["key"] == "unprotected")["rect"]
        # a corner of the tile, clear of its text and of the rounded edge
        assert _close(page.pixel(tile["x"] + 6, tile["y"] + tile["h"] - 6), red, 8), name
        assert _close(page.pixel(tile["x"] + tile["w"] - 6, tile["y"] + 6), red, 8), name
    # with nothing unprotected the tile is calm (white), not red
    calm = pages["calm"]
    tile = next(t for t in calm.facts["tiles"] if t["key"] == "unprotected")["rect"]
    assert _close(calm.pixel(tile["x"] + 6, tile["y"] + tile["h"] - 6), (255, 255, 255), 8)


def test_screenshots_are_kept_for_people(pages):
    for name in pages:
        path = SHOTS / (name + ".png")
        assert path.is_file() and path.stat().st_size > 10_000, path
    (SHOTS / "index.json").write_text(json.dumps(sorted(p.name for p in SHOTS.glob("*.png"))), encoding="utf-8")
