"""A report you can send: one self-contained HTML page with every figure embedded.

``page(report, figures)`` is the whole report in one file that works offline: the result
sentence, the headline table, the probabilities, every figure of ``bayes-koryo plot``
embedded as a base64 PNG with alt text, the diagnostics, the table of every quantity, the
methods paragraph and the provenance (run id, seed, data hash, versions), with print-friendly
CSS. Nothing is loaded from elsewhere: no scripts, web fonts or CDN; the page's own
Content-Security-Policy allows only inline styles and ``data:`` images, so a browser refuses
any outside request. An unconverged run opens with a warning banner.

``report_figures(model)`` renders the figures of ``bayes_koryo.outputs.plots`` for the page;
``write_page`` writes the page atomically. ``tests/outputs/test_webpage.py`` loads the page in
headless Chromium (images decoded, no console error, screenshot and print-to-PDF, the same headline
numbers as ``report --format json``).
"""

from __future__ import annotations

import base64
import html as html_lib
import io
from dataclasses import dataclass
from pathlib import Path

from bayes_koryo.outputs.report import (
    PROBABILITY_HEADER,
    Report,
    diagnostics_line,
    formatted,
    headline_rows,
    methods_text,
    probability_rows,
    provenance,
    table_note,
)

FIGURE_DPI = 150
"""Resolution of the embedded PNGs (the figures are 7 in wide: 1050 pixels)."""

MAX_PAGE_BYTES = 5_000_000
"""The page with every figure stays below this size (a test checks it)."""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""The page's Content-Security-Policy: inline styles and data: images, nothing else."""

_CSS = """
body{font-family:Georgia,'DejaVu Serif',serif;max-width:60em;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0.2em}h2{font-size:1.2em;margin-top:1.8em;
border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.88em}
th,td{padding:0.22em 0.55em;text-align:right;vertical-align:top}
th:first-child,td:first-child,th.text,td.text{text-align:left}
thead th{border-top:2px solid #222;border-bottom:1px solid #222}
tbody tr:last-child td{border-bottom:2px solid #222}
.note{font-size:0.85em;color:#444}.lead{font-size:1.08em}
.warning{background:#fee;border:2px solid #c00;padding:0.6em 0.8em}
figure{margin:1.2em 0;break-inside:avoid;page-break-inside:avoid}
figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:0.85em;color:#444;margin-top:0.3em}
code{font-size:0.85em;word-break:break-all}
@media print{body{max-width:none;margin:0;font-size:10pt}h2{break-after:avoid}
table,figure{break-inside:avoid}.warning{border-width:1px}}
"""

FIGURE_TEXT = {
    "trajectory": (
        "Registered SIMs and unique users over time",
        "Line chart over 2008 to the horizon: registered SIMs S(t) and unique users "
        "U(t) with their posterior medians and 50% and 90% intervals, and every "
        "reported subscriber figure as a point; U(t) runs well below S(t).",
    ),
    "decomposition": (
        "What stands behind the registered SIMs of 28 May 2013",
        "Bar chart splitting the registered SIMs of 28 May 2013 into unique users, "
        "extra SIMs of multi-SIM users, official lines and inactive numbers, each "
        "with its posterior median and interval.",
    ),
    "prior_posterior": (
        "Prior and posterior of the parameters and headline quantities",
        "Small multiples comparing, for each parameter and headline quantity, "
        "the prior and posterior intervals: the data narrow some, others stay "
        "at their prior.",
    ),
    "predictive_check": (
        "Posterior predictive check of every reported figure",
        "Dot chart of each reported figure divided by its replicate's median, "
        "with the replicate's 50% and 90% intervals.",
    ),
}
"""Caption and alt text of each figure of ``bayes_koryo.outputs.plots.FIGURES``."""


@dataclass(frozen=True)
class Figure:
    """An embedded figure: its name in ``plots.FIGURES``, caption, alt text and PNG bytes."""

    name: str
    caption: str
    alt: str
    png: bytes

    def img_tag(self) -> str:
        """Return the ``<img>`` element with the PNG inline as a base64 ``data:`` URL."""
        data = base64.b64encode(self.png).decode("ascii")
        return (
            f'<img src="data:image/png;base64,{data}" alt="{html_lib.escape(self.alt)}" '
            f'width="1050">'
        )


def report_figures(model) -> list[Figure]:
    """Every figure of ``bayes_koryo.outputs.plots`` for ``model``, rendered as PNG."""
    import matplotlib.pyplot as plt

    from bayes_koryo.outputs import plots

    figures = []
    for name in plots.FIGURES:
        fig = getattr(plots, name)(model)
        try:
            buffer = io.BytesIO()
            with plt.rc_context(plots.STYLE):
                fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
        finally:
            plt.close(fig)
        caption, alt = FIGURE_TEXT[name]
        figures.append(Figure(name, caption, alt, buffer.getvalue()))
    return figures


def _table(head: list[str], rows: list[list]) -> list[str]:
    e = html_lib.escape

    # a column of words (most non-empty cells start with a letter) reads left-aligned;
    # a column of numbers (and bounds such as "> 0.99") stays right-aligned
    def words(i: int) -> bool:
        cells = [str(row[i]) for row in rows if str(row[i])]
        return 2 * sum(c[0].isalpha() for c in cells) > len(cells)

    text = [words(i) for i in range(len(head))]

    def cell(tag: str, value: object, i: int) -> str:
        return (
            f'<{tag} class="text">{e(str(value))}</{tag}>'
            if text[i]
            else (f"<{tag}>{e(str(value))}</{tag}>")
        )

    out = [
        "<table>",
        "<thead><tr>" + "".join(cell("th", h, i) for i, h in enumerate(head)) + "</tr></thead>",
        "<tbody>",
    ]
    out += ["<tr>" + "".join(cell("td", v, i) for i, v in enumerate(row)) + "</tr>" for row in rows]
    return [*out, "</tbody>", "</table>"]


def page(report: Report, figures: list[Figure] | tuple = ()) -> str:
    """Render the report as one standalone HTML page (every text escaped; see the module)."""
    e = html_lib.escape
    a = report.attrs
    title = f"bayes_koryo report: {a.get('config_name', '?')}"
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    diag = _diagnostics_summary(a)
    if not diag.get("converged", False):
        lines.append(
            '<p class="warning"><strong>WARNING: this run did not pass the '
            "convergence checks; do not cite its numbers.</strong> "
            + e("; ".join(diag.get("failures", [])[:5]))
            + "</p>"
        )
    lines += [
        f"<h1>{e(title)}</h1>",
        f'<p class="note">Run <code>{e(str(a.get("run_id", "not saved")))}</code>, '
        f"seed {e(str(a.get('seed', '?')))}</p>",
        f'<p class="lead">{e(report.sentence())}</p>',
        "<h2>Headline</h2>",
    ]
    head, rows = headline_rows(report)
    lines += _table(head, rows)
    lines += [f'<p class="note">{e(table_note(report.table))}</p>', "<h2>Probabilities</h2>"]
    lines += _table(
        list(PROBABILITY_HEADER), [list(r) for r in probability_rows(report.probabilities)]
    )
    if figures:
        lines.append("<h2>Figures</h2>")
        for number, figure in enumerate(figures, start=1):
            lines += [
                f'<figure id="figure-{e(figure.name)}">',
                figure.img_tag(),
                f"<figcaption>Figure {number}. {e(figure.caption)}.</figcaption>",
                "</figure>",
            ]
    lines += ["<h2>Diagnostics</h2>", f"<p>{e(diagnostics_line(a))}</p>"]
    if diag.get("failures"):
        lines += ["<ul>"] + [f"<li>{e(f)}</li>" for f in diag["failures"]] + ["</ul>"]
    human = formatted(report.table)
    lines += ["<h2>Every quantity</h2>"]
    lines += _table(list(human.columns), [list(r) for r in human.itertuples(index=False)])
    lines += [
        "<h2>Methods</h2>",
        f"<p>{e(methods_text(report))}</p>",
        "<h2>Provenance</h2>",
        "<ul>",
    ]
    lines += [f"<li>{e(k)}: <code>{e(v)}</code></li>" for k, v in provenance(a)]
    lines += ["</ul>", "</body>", "</html>"]
    return "\n".join(lines) + "\n"


def _diagnostics_summary(attrs: dict) -> dict:
    import json

    return json.loads(attrs.get("diagnostics_json", "{}") or "{}")


def write_page(model, report: Report, path, overwrite: bool = True) -> Path:
    """Write the page of a fitted or loaded ``model`` (figures included) atomically."""
    from bayes_koryo.atomic import atomic_write_text

    return atomic_write_text(path, page(report, report_figures(model)), overwrite=overwrite)


__all__ = ["CSP", "FIGURE_TEXT", "MAX_PAGE_BYTES", "Figure", "page", "report_figures", "write_page"]
