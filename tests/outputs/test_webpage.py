"""A report you can send: `report --format html` is one self-contained page with every
figure, checked in a real (headless) browser: every image decodes, nothing errs or is
blocked, it prints to PDF, and its headline numbers are those of `report --format json`."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from browser_tools import print_to_pdf, probe, screenshot, visible_text

from bayes_koryo import cli
from bayes_koryo.outputs import report
from bayes_koryo.outputs.plots import FIGURES
from bayes_koryo.outputs.webpage import CSP, MAX_PAGE_BYTES


@pytest.fixture(scope="module")
def pages(fitted, tmp_path_factory):
    """(folder, run file, page of the run, JSON report of the run)."""
    folder = tmp_path_factory.mktemp("web")
    run = fitted.save(folder / "run.nc")
    assert (
        cli.main(["report", str(run), "--format", "html", "--out", str(folder / "page.html")]) == 0
    )
    assert (
        cli.main(["report", str(run), "--format", "json", "--out", str(folder / "report.json")])
        == 0
    )
    return folder, run, folder / "page.html", json.loads((folder / "report.json").read_text())


def test_one_self_contained_file_with_every_figure(pages):
    _, _, page, _ = pages
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size < MAX_PAGE_BYTES
    images = re.findall(r"<img ([^>]*)>", text)
    assert len(images) == len(FIGURES)
    for attributes in images:
        assert 'src="data:image/png;base64,' in attributes
        alt = re.search(r'alt="([^"]+)"', attributes)
        assert alt and len(alt.group(1)) > 40  # a description, not a file name
    assert not re.search(r"(src|href)=\"(?!data:)", text)  # nothing from elsewhere
    assert f'content="{CSP}"' in text and "<script" not in text
    assert "@media print" in text


def test_the_page_works_in_a_real_browser(pages, tmp_path):
    _, _, page, _ = pages
    seen = probe(page, tmp_path)
    assert len(seen["images"]) == len(FIGURES)
    assert all(img["complete"] and img["naturalWidth"] > 0 for img in seen["images"])
    assert seen["problems"] == []
    shot = screenshot(page, tmp_path / "page.png")
    pdf = print_to_pdf(page, tmp_path / "page.pdf")
    assert shot.stat().st_size > 20_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000


def test_the_browser_check_can_fail(pages, tmp_path):
    """A broken image and an outside resource are caught."""
    _, _, page, _ = pages
    broken = tmp_path / "broken.html"
    broken.write_text(
        page.read_text().replace(
            "<h2>Figures</h2>",
            '<h2>Figures</h2><img src="data:image/png;base64,AAAA" alt="x">'
            '<img src="https://example.org/x.png" alt="y">',
        ),
        encoding="utf-8",
    )
    seen = probe(broken, tmp_path)
    assert sum(img["naturalWidth"] == 0 for img in seen["images"]) == 2
    assert any("blocked" in p for p in seen["problems"])


def test_the_page_shows_the_numbers_of_the_json_report(pages):
    _, _, page, records = pages
    text = visible_text(page)
    human = report.formatted(pd.DataFrame(records))
    label = report.interval_label()
    for name, date, _ in report.HEADLINE_ROWS:
        row = human[human["quantity"] == name + (f" ({date})" if date else "")].iloc[0]
        assert f" {row['median']} {row[label]} " in f" {text} ", (name, date)


def test_an_unconverged_run_opens_with_the_warning(pages):
    _, _, page, records = pages
    text = page.read_text()
    converged = records[0]["converged"]
    banner = "WARNING: this run did not pass the convergence checks"
    assert (banner in text) is (not converged)
    if not converged:  # the reduced-settings fixture: the banner comes first
        assert text.index(banner) < text.index("<h1>")
