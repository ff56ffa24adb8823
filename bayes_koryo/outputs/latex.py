r"""LaTeX snippets that drop into a paper, with the numbers of the Markdown/JSON report.

Four snippets, each written as its own file by ``write_snippets`` (``bayes-koryo report RUN
--format latex --out-dir DIR``) and each compiled by the tests with pdflatex in a plain
``article`` (11pt, 1-inch margins) without an overfull box:

- ``table.tex`` (``headline_table``): the quantities a paper cites — by default the README's
  eight rows — with readable labels and units, posterior median, the interval (kind and
  mass in the header) and the prior interval of the same kind; the diagnostics, run id and
  versions go into a note below the table, not into columns. ``width="text"`` (default)
  fills the text block of a one-column paper (6.5 in with 1-inch margins on letter paper);
  ``width="column"`` fits one column of a two-column journal (about 3.2–3.3 in) with a
  smaller font. The label column wraps (``tabularx``); the numbers never do.
- ``supplement.tex`` (``supplement``): every quantity with its diagnostic columns (MCSE of
  the median, R-hat, bulk/tail ESS), then the probabilities table. Laid out for the text
  width in portrait as a ``longtable`` with a fixed-width, wrapping label column, so that the
  31 rows may break across pages with the header repeated. Why not landscape or
  ``\resizebox``: a rotated page or a table scaled to fit gives another font size than the
  rest of the paper; seven short numeric columns fit the text width at ``\footnotesize``.
- ``sentence.tex`` / ``methods.tex``: the result sentence and the methods paragraph
  (``Report.sentence``, ``report.methods_text``), escaped.

Preamble the snippets need: ``\usepackage{booktabs,tabularx,longtable}`` (``array`` comes
with ``tabularx``); all three are in TeX Live's base and recommended collections.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayes_koryo.errors import ConfigError
from bayes_koryo.inference.prior_sensitivity import PSENSE_THRESHOLD
from bayes_koryo.outputs.report import (
    HEADLINE_ROWS,
    KIND_NAMES,
    PROBABILITY_HEADER,
    Report,
    diagnostics_line,
    formatted,
    interval_label,
    methods_text,
    probability_rows,
)

PREAMBLE = r"\usepackage{booktabs,tabularx,longtable}"
"""The packages every snippet needs (TeX Live base + recommended)."""

WIDTHS = ("text", "column")
"""``text``: the text block of a one-column paper; ``column``: one column of two."""

TABLES = ("headline", "full")
"""``headline``: the cited quantities (``table.tex``); ``full``: every quantity with its
diagnostics and the probabilities (``supplement.tex``)."""

SNIPPETS = ("table.tex", "supplement.tex", "sentence.tex", "methods.tex")

QUANTITY_LABELS: dict[str, tuple[str, str | None]] = {
    "unique_users": ("Unique users", "millions"),
    "penetration_10plus": ("Users / population aged 10+", None),
    "penetration_addressable": ("Users / addressable population", None),
    "sims_per_user": ("Registered SIMs per user", None),
    "real_user_share": ("People per registered SIM (U/S)", None),
    "official_share": ("Official share of active lines", None),
    "inactive_share": ("Inactive share of registered numbers", None),
    "heavy_user_share": ("Heavy-user share of users", None),
    "sims_per_heavy_user": ("SIMs per heavy user", None),
    "user_ceiling": ("User ceiling", "millions"),
    "subscription_ceiling": ("Subscription ceiling", "millions of SIMs"),
    "users_per_holder": ("People per private SIM holder (shared phones)", None),
    "real_user_share_by_date": ("People per registered SIM (U/S) on the date", None),
    "early_heavy_user_share": ("Heavy-user share, SIMs registered before the opening", None),
    "early_official_share": ("Official share, SIMs registered before the opening", None),
    "decomposition_unique_users": ("First SIMs of private SIM holders (one each)", "millions"),
    "decomposition_extra_sims": ("Extra SIMs of multi-SIM users", "millions"),
    "decomposition_official_lines": ("Official lines", "millions"),
    "decomposition_inactive_numbers": ("Inactive numbers", "millions"),
}
"""Readable label and unit (None: a share or ratio) of every quantity of the report."""

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
    "×": r"$\times$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "<": r"$<$",
    ">": r"$>$",
    "·": r"$\cdot$",
    "π": r"$\pi$",
    "ω": r"$\omega$",
    "ι": r"$\iota$",  # noqa: RUF001 (the model's symbol)
}


EVIDENCE_MARKS = {"prior-driven": r"$^{\dagger}$", "prior-data conflict": r"$^{\ddagger}$"}
"""Marks after a quantity's label in ``table.tex``: what its interval rests on."""
EVIDENCE_NOTE = (
    r"$^{\dagger}$\,prior-driven, $^{\ddagger}$\,prior-data conflict: power-scaling "
    f"sensitivity to the priors $\\geq {PSENSE_THRESHOLD:g}$ and to the likelihood below / "
    f"above {PSENSE_THRESHOLD:g} (Kallioinen et al.\\ 2024); unmarked rows are data-driven"
)


def tex_escape(text: object) -> str:
    """Text safe inside a LaTeX paragraph, table cell or caption."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


def _range(text: object) -> str:
    """Turn an interval "a – b" of the report into a LaTeX range "a--b" (en dash, no spaces)."""
    return tex_escape(str(text).replace(" – ", "–"))


def quantity_key(name: str, date: str | None) -> str:
    """Return a report row's key: ``name`` or ``name[YYYY-MM-DD]`` (as in ``--quantities``)."""
    return f"{name}[{date}]" if isinstance(date, str) else name


def quantity_label(name: str, date: str | None) -> str:
    """Readable label with the date and the unit, e.g. "Unique users, 2 Feb 2012 (millions)"."""
    text, unit = QUANTITY_LABELS.get(name, (name.replace("_", " ").capitalize(), None))
    if isinstance(date, str):
        day = pd.Timestamp(date)
        text = f"{text}, {day.day} {day:%b %Y}"
    return f"{text} ({unit})" if unit else text


def parse_quantities(text: str | None) -> list[str] | None:
    """``"unique_users[2013-05-28],real_user_share"`` -> keys; None or empty: the default."""
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _rows(report: Report, keys: list[str] | None) -> pd.DataFrame:
    """Return the report's rows (raw table) in the order of ``keys`` (default: the headline)."""
    table = report.table.assign(
        key=[
            quantity_key(n, d)
            for n, d in zip(report.table["quantity"], report.table["date"], strict=True)
        ]
    )
    wanted = keys or [quantity_key(n, d) for n, d, _ in HEADLINE_ROWS]
    unknown = [k for k in wanted if k not in set(table["key"])]
    if keys and unknown:
        raise ConfigError(
            f"--quantities: unknown {', '.join(unknown)}; choose from {', '.join(table['key'])}"
        )
    return table.set_index("key").loc[[k for k in wanted if k not in unknown]].reset_index()


def _note(report: Report) -> str:
    """Return the note under a table: interval convention, rounding, diagnostics, provenance."""
    a = report.attrs
    version = json.loads(a.get("versions_json", "{}") or "{}").get("bayes_koryo", "?")
    run = (
        f"Run {a['run_id']}, seed {a.get('seed', '?')}, data hash "
        f"{str(a.get('data_hash', ''))[:12]}"
        if "run_id" in a
        else f"Unsaved fit, seed {a.get('seed', '?')}"
    )
    return (
        f"Posterior medians and {report.prob * 100:g}\\% "
        f"{tex_escape(KIND_NAMES[report.kind])}s; prior intervals of the same kind and "
        "mass. Each number is rounded to the digits its Monte Carlo standard error "
        "supports; shares and ratios as fractions. "
        + tex_escape(f"Diagnostics: {diagnostics_line(a)}. {run}; bayes_koryo {version}.")
    )


def headline_table(report: Report, quantities: list[str] | None = None, width: str = "text") -> str:
    """``table.tex``: the cited quantities (see the module docstring)."""
    if width not in WIDTHS:
        raise ConfigError(f"--width: expected one of {', '.join(WIDTHS)}, got {width!r}")
    rows = _rows(report, quantities)
    human = formatted(rows)
    label = interval_label(report.prob, report.kind)
    size = r"\small" if width == "text" else r"\footnotesize"
    structural = "structural range" in human
    extra = ["Structural range"] if structural else []
    marks = "rests on" in human
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        size,
        r"\caption{Distinct Koryolink users and related quantities: posterior medians "
        f"with {tex_escape(label)}s and the prior intervals of the same kind"
        + (
            "; the structural range spans the intervals of the declared model variants"
            if structural
            else ""
        )
        + (f". {EVIDENCE_NOTE}" if marks else "")
        + ".}",
        r"\label{tab:bayes-koryo}",
        r"\setlength{\tabcolsep}{" + ("4pt" if width == "text" else "2.5pt") + "}",
        r"\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}X"
        + "rrr"
        + "r" * structural
        + "@{}}",
        r"\toprule",
        f"Quantity & Median & {tex_escape(label)} & Prior {tex_escape(label)}"
        + "".join(f" & {c}" for c in extra)
        + " \\\\",
        r"\midrule",
    ]
    for (_, raw), (_, row) in zip(rows.iterrows(), human.iterrows(), strict=True):
        cells = [
            tex_escape(quantity_label(raw["quantity"], raw["date"]))
            + (EVIDENCE_MARKS.get(str(row["rests on"]), "") if marks else ""),
            tex_escape(row["median"]),
            _range(row[label]),
            _range(row[f"prior {label}"]),
        ]
        if structural:
            cells.append(_range(str(row["structural range"]).split(" (")[0]))
        lines.append(" & ".join(cells) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabularx}",
        r"\par\smallskip",
        r"{\footnotesize\raggedright " + _note(report) + r"\par}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def supplement(report: Report) -> str:
    """``supplement.tex``: every quantity with its diagnostics, then the probabilities."""
    human = formatted(report.table)
    label = interval_label(report.prob, report.kind)
    head = (
        f"Quantity & Median & {tex_escape(label)} & Prior {tex_escape(label)} & "
        r"MCSE & $\hat R$ & ESS bulk/tail \\"
    )
    lines = [
        r"{\footnotesize",
        r"\setlength{\tabcolsep}{3pt}",
        r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{0.3\linewidth}"
        r"rrrrrr@{}}",
        r"\caption{Every quantity of the report with its convergence diagnostics "
        f"(posterior medians, {tex_escape(label)}s, prior intervals of the same kind; "
        r"MCSE of the median).}\label{tab:bayes-koryo-supplement}\\",
        r"\toprule",
        head,
        r"\midrule",
        r"\endfirsthead",
        r"\toprule",
        head,
        r"\midrule",
        r"\endhead",
        r"\bottomrule",
        r"\endfoot",
    ]
    for (_, raw), (_, row) in zip(report.table.iterrows(), human.iterrows(), strict=True):
        lines.append(
            " & ".join(
                [
                    tex_escape(quantity_label(raw["quantity"], raw["date"])),
                    tex_escape(row["median"]),
                    _range(row[label]),
                    _range(row[f"prior {label}"]),
                    tex_escape(row["MCSE (median)"]),
                    tex_escape(row["R-hat"]),
                    tex_escape(str(row["ESS bulk/tail"]).replace(" / ", "/")),
                ]
            )
            + r" \\"
        )
    lines += [
        r"\end{longtable}",
        "}",
        "",
        r"\begin{table}[htbp]",
        r"\centering",
        r"\footnotesize",
        r"\caption{Posterior probabilities (with Monte Carlo standard error) and the "
        r"prior probabilities of the same events.}",
        r"\label{tab:bayes-koryo-probabilities}",
        r"\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}Xrrr"
        r">{\raggedright\arraybackslash}X@{}}",
        r"\toprule",
        " & ".join(tex_escape(c[:1].upper() + c[1:]) for c in PROBABILITY_HEADER) + r" \\",
        r"\midrule",
    ]
    lines += [
        " & ".join(tex_escape(v) for v in row) + r" \\"
        for row in probability_rows(report.probabilities)
    ]
    lines += [
        r"\bottomrule",
        r"\end{tabularx}",
        r"\par\smallskip",
        r"{\footnotesize\raggedright " + _note(report) + r"\par}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def sentence_tex(report: Report) -> str:
    """``sentence.tex``: the result sentence, as in the Markdown and JSON report."""
    return tex_escape(report.sentence()) + "\n"


def methods_tex(report: Report) -> str:
    """``methods.tex``: the methods paragraph, as in the Markdown report."""
    return tex_escape(methods_text(report)) + "\n"


def snippet(
    report: Report,
    table: str = "headline",
    quantities: list[str] | None = None,
    width: str = "text",
) -> str:
    """Return the text ``--format latex`` prints: the headline table or the supplement."""
    if table not in TABLES:
        raise ConfigError(f"--table: expected one of {', '.join(TABLES)}, got {table!r}")
    return headline_table(report, quantities, width) if table == "headline" else supplement(report)


def write_snippets(
    report: Report,
    out_dir,
    quantities: list[str] | None = None,
    width: str = "text",
    overwrite: bool = False,
) -> list[Path]:
    """Write ``SNIPPETS`` into ``out_dir`` (each atomically); returns the paths."""
    from bayes_koryo.atomic import atomic_write_text

    out_dir = Path(out_dir)
    texts = {
        "table.tex": headline_table(report, quantities, width),
        "supplement.tex": supplement(report),
        "sentence.tex": sentence_tex(report),
        "methods.tex": methods_tex(report),
    }
    written = []
    for name in SNIPPETS:
        try:
            written.append(atomic_write_text(out_dir / name, texts[name], overwrite=overwrite))
        except FileExistsError:
            from bayes_koryo.errors import OutputPathError

            raise OutputPathError(
                f"{out_dir / name}: exists already (use --force to overwrite)"
            ) from None
    return written


__all__ = [
    "PREAMBLE",
    "QUANTITY_LABELS",
    "SNIPPETS",
    "TABLES",
    "WIDTHS",
    "headline_table",
    "methods_tex",
    "parse_quantities",
    "quantity_key",
    "quantity_label",
    "sentence_tex",
    "snippet",
    "supplement",
    "tex_escape",
    "write_snippets",
]
