"""`npc-risk pack` on the sample city's published run (issue 12).

One module fixture runs the pipeline on sample_data (rules score: no training needed) and writes
the packs without PDFs; the browser test (test_pack_browser.py) prints and renders them.
Checked here: the files written, the tidy data's shape, the disclosure rule on every count the
data and the pages show, no identifier in any page, and one neighbourhood's figures worked out
again by hand from patients.parquet (the unrounded counts behind the published ones).
"""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from npc_risk.cli import app
from npc_risk.packs import methods
from npc_risk.packs.figures import COLUMNS
from tests.builders.sample_run import run_sample_city

CONTACT = "Population Health Team, test ICB"
HOOD = "U60004"  # Burmantofts, Harehills and Richmond Hill PCN: the sample city's most deprived


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    config = out / "rules.toml"
    config.write_text('[risk]\nmethod = "rules"\n\n[cohort]\nneighbourhood = "pcn"\n\n'
                      f'[packs]\nenabled = true\npdf = false\ncontact = "{CONTACT}"\n', encoding="utf-8")
    return run_sample_city(out, config)


@pytest.fixture(scope="module")
def packs(run_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("packs")
    # One process: the coverage tracer does not follow forked page workers. The run's own packs
    # (fixture run_dir, [packs] enabled) are drawn by the workers, and a test compares the bytes.
    result = CliRunner().invoke(app, ["pack", "--run", str(run_dir), "--output", str(out), "--no-pdf",
                                      "--contact", CONTACT, "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "wrote 33 packs, 0 PDFs" in result.output  # 19 neighbourhoods, 13 LCPs, the city
    return out


def test_pack_writes_a_page_per_area_an_index_and_the_tidy_data(packs: Path):
    pages = sorted(p.name for p in packs.glob("*.html"))
    assert "index.html" in pages and "city.html" in pages
    assert len([p for p in pages if p.startswith("neighbourhood-")]) == 19
    assert len([p for p in pages if p.startswith("lcp-")]) == 13
    data = pq.read_table(packs / "pack_data.parquet").to_pandas()
    assert list(data.columns[: len(COLUMNS)]) == list(COLUMNS)
    csv = pd.read_csv(packs / "pack_data.csv", dtype={"area": str})
    assert len(csv) == len(data)
    index = (packs / "index.html").read_text(encoding="utf-8")
    for page in pages:
        if page != "index.html":
            assert f'href="{page}"' in index


def test_the_run_writes_the_same_packs_when_its_config_asks(packs: Path, run_dir: Path):
    """[packs] enabled: the nightly run publishes `<as-of>/packs/` with the rest, the same bytes
    as `npc-risk pack` writes from the published run (its manifest lists every file)."""
    import json

    inside = run_dir / "packs"
    assert sorted(p.name for p in inside.iterdir()) == sorted(p.name for p in packs.iterdir())
    for name in ("pack_data.parquet", "pack_data.csv", f"neighbourhood-{HOOD.lower()}.html", "city.html"):
        assert (inside / name).read_bytes() == (packs / name).read_bytes(), name
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert {k for k in manifest["outputs"] if k.startswith("packs/")} == {f"packs/{p.name}" for p in inside.iterdir()}


def test_every_count_in_the_data_is_zero_or_a_rounded_count_of_at_least_eight(packs: Path):
    data = pq.read_table(packs / "pack_data.parquet").to_pandas()
    for column in ("numerator", "denominator"):
        shown = data[column].dropna()
        assert ((shown == 0) | ((shown >= 10) & (shown % 5 == 0))).all(), column
    hidden = data[data.suppressed]
    assert hidden[["value", "lower", "upper", "expected", "excess"]].isna().all().all()


class _Tables(HTMLParser):
    """Every table of a page as (header cells, body rows)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._row, self._in = [], None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell, self._in = "", tag

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append((self._in, self._cell.strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            header, body = self.tables[-1]
            if all(kind == "th" for kind, _ in self._row):
                header.extend(text for _, text in self._row)
            else:
                body.append([text for _, text in self._row])
            self._row = None


COUNT_HEADERS = {"People", "Count", "Observed", "Cohort", "Emergency admissions"}


def test_no_page_shows_a_count_of_one_to_seven_or_an_identifier(packs: Path, run_dir: Path):
    people = pq.read_table(run_dir / "patients.parquet", columns=["patient_id"]).column(0).to_pylist()
    identifiers = re.compile("|".join(re.escape(p) for p in people))
    checked = 0
    for page in packs.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not identifiers.search(html), page.name
        parser = _Tables()
        parser.feed(html)
        for header, body in parser.tables:
            columns = [i for i, h in enumerate(header) if h in COUNT_HEADERS]
            for row in body:
                for i in columns:
                    cell = row[i].replace(",", "")
                    if cell.endswith("%"):  # a percentage row of the eligibility funnel
                        continue
                    assert cell == "*" or cell == "0" or (int(cell) >= 10 and int(cell) % 5 == 0), \
                        f"{page.name}: {header[i]} {cell!r}"
                    checked += 1
    assert checked > 1000


def test_one_neighbourhood_checked_by_hand_from_the_run(packs: Path, run_dir: Path):
    """Emergency admissions per 1,000 and the ratio to expected for one neighbourhood, worked
    out again from patients.parquet with pandas: crude = O / n x 1,000 (Byar limits, O >= 10);
    E = sum over age band x sex of the city's rate x the neighbourhood's people."""
    p = pq.read_table(run_dir / "patients.parquet").to_pandas()
    p = p[p.planning_optout.isna()]
    p = p.assign(band=(p.age // 5 * 5).clip(upper=90))
    mine = p[p.neighbourhood == HOOD]
    observed, n = int(mine.emergency_admissions_12m.sum()), len(mine)
    rates = p.groupby(["band", "sex"]).emergency_admissions_12m.sum() / p.groupby(["band", "sex"]).size()
    expected = float((mine.groupby(["band", "sex"]).size() * rates).dropna().sum())
    data = pq.read_table(packs / "pack_data.parquet").to_pandas()
    row = data[(data.level == "neighbourhood") & (data.area == HOOD) & (data.indicator == "emergency_admissions")]
    crude = row[row.statistic == "crude"].iloc[0]
    isr = row[row.statistic == "isr"].iloc[0]
    assert crude.value == pytest.approx(observed / n * 1000)
    lo, hi = methods.byar_limits(observed)
    assert (crude.lower, crude.upper) == pytest.approx((lo / n * 1000, hi / n * 1000))
    assert isr.expected == pytest.approx(round(expected, 1))
    assert isr.value == pytest.approx(observed / expected * 100)
    assert crude.numerator == 5 * ((observed + 2) // 5)  # rounded to 5 for display
    page = (packs / f"neighbourhood-{HOOD.lower()}.html").read_text(encoding="utf-8")
    assert f"{observed / n * 1000:,.1f}" in page
    assert CONTACT in page


def test_a_folder_that_is_not_a_run_is_a_one_line_user_error(tmp_path: Path):
    result = CliRunner().invoke(app, ["pack", "--run", str(tmp_path), "--output", str(tmp_path / "p"), "--no-pdf"])
    assert result.exit_code != 0 and result.exit_code != 1
    assert "not a published run folder" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


# ------------------------------------------------------------------ in a real browser (Chromium)
def _browser() -> str:
    from npc_risk.packs.pdf import find_browser

    found = find_browser()
    if found is None:
        pytest.skip("no Chromium (Debian's `chromium`): `make test` installs it; the pages were not rendered")
    return found


def test_pages_render_in_headless_chromium_with_no_console_errors(packs: Path, tmp_path: Path):
    """Each page opened from disk with the network blocked: it renders (a screenshot that is not
    one colour), every image and inline chart is there, nothing is logged to the console."""
    from playwright.sync_api import sync_playwright

    executable = _browser()
    pages = [packs / "index.html", packs / "city.html", packs / f"neighbourhood-{HOOD.lower()}.html",
             next(packs.glob("lcp-*.html"))]
    # Playwright draws its own object ids from the global `random`; the suite forbids tests from
    # moving that state (conftest), so it is put back after the browser closes.
    state = random.getstate()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=True)
            context.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline: nothing fetched
            for path in pages:
                page = context.new_page()
                problems: list[str] = []
                page.on("console", lambda m, problems=problems: problems.append(m.text)
                        if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e, problems=problems: problems.append(str(e)))
                page.on("requestfailed", lambda r, problems=problems: problems.append(f"request {r.url}"))
                page.goto(path.resolve().as_uri(), wait_until="load")
                assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
                charts = page.evaluate("document.querySelectorAll('figure svg').length")
                assert charts >= (0 if path.name == "index.html" else 4), path.name
                labelled = page.evaluate("Array.from(document.querySelectorAll('figure[role=img]'))"
                                         ".every(f => f.getAttribute('aria-label'))")
                assert labelled, f"{path.name}: a chart without alt text"
                shot = tmp_path / f"{path.stem}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert len(set(_pixels(shot))) > 8, f"{path.name}: blank screenshot"
                assert problems == [], f"{path.name}: {problems}"
                page.close()
        finally:
            browser.close()
    random.setstate(state)


def _pixels(png: Path) -> list[tuple[int, ...]]:
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").resize((60, 60))
        return [small.getpixel((x, y)) for x in range(60) for y in range(60)]


def test_pages_print_to_pdf(packs: Path):
    """The printable PDF of a pack: Chromium's print, more than one A4 page, no more than a dozen."""
    from npc_risk.packs.pdf import print_pdfs

    _browser()
    pdfs = print_pdfs([packs / f"neighbourhood-{HOOD.lower()}.html", packs / "city.html"])
    for pdf in pdfs:
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
        assert 2 <= pages <= 12, f"{pdf.name}: {pages} pages"
