"""BibTeX for this package and for every source of the data it fits."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from bayes_koryo.version import __version__

_BIB_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_YEAR = re.compile(r"(?<![0-9])(?:19[5-9][0-9]|20[0-9]{2})(?![0-9])")
_STOPWORDS = {"a", "an", "and", "as", "by", "for", "in", "of", "on", "the", "to", "via"}


def bib_escape(text: str) -> str:
    """Escape LaTeX/BibTeX special characters in a text field (braces stay balanced)."""
    text = re.sub(r"\s+", " ", text).strip()
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in text)


def bib_url(url: str) -> str:
    r"""Escape a URL for a ``url`` field or ``\url{}``: only %, #, braces and spaces change."""
    url = re.sub(r"[{}\s]", lambda m: f"%{ord(m.group()):02X}", url.strip())
    return url.replace("%", r"\%").replace("#", r"\#")


def _bib_key(text: str, year: str, taken: set[str]) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in re.findall(r"[a-z0-9]+", ascii_text.lower()) if w not in _STOPWORDS]
    stem = "-".join(words[:4]) or "source"
    if not stem[0].isalpha():
        stem = f"source-{stem}"
    if year and year not in words[:4]:
        stem = f"{stem}-{year}"
    key, n = stem, 1
    while key in taken:
        n += 1
        key = f"{stem}-{n}"
    taken.add(key)
    return key


def _entry(kind: str, key: str, fields: dict[str, str]) -> str:
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@{kind}{{{key},\n{body},\n}}\n"


def bibtex(observations: pd.DataFrame, demography: pd.DataFrame) -> str:
    """BibTeX: one ``@software`` entry for bayes_koryo, one ``@misc`` per (source, url).

    Years come from the source text (first year named) or else the latest date it supports.
    """
    uses: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for rec in observations.itertuples(index=False):
        what = f"{rec.quantity} on {rec.date:%Y-%m-%d} ({rec.kind})"
        uses.setdefault((rec.source, rec.url), []).append((f"{rec.date:%Y}", what))
    for quantity, rec in demography.iterrows():
        uses.setdefault((rec["source"], rec["url"]), []).append((rec["date"][:4], str(quantity)))

    taken = {"bayes_koryo"}
    entries = [
        _entry(
            "software",
            "bayes_koryo",
            {
                "title": "{bayes\\_koryo}: a {Bayesian} model of unique {Koryolink} mobile users "
                "in {North Korea}",
                "author": "{bayes\\_koryo developers}",
                "year": "2026",
                "version": bib_escape(__version__),
                "note": "Python package; data from the sources listed in the bundled CSV files",
            },
        )
    ]
    for (source, url), used in uses.items():
        found = _YEAR.search(source)
        year = found.group(0) if found else max(y for y, _ in used)
        key = _bib_key(source, year, taken)
        entries.append(
            _entry(
                "misc",
                key,
                {
                    "title": "{" + bib_escape(source) + "}",
                    "year": year,
                    "url": bib_url(url) if url else "",
                    "howpublished": f"\\url{{{bib_url(url)}}}" if url else "as cited in the data",
                    "note": bib_escape(
                        "Data source of bayes_koryo for " + "; ".join(w for _, w in used)
                    ),
                },
            )
        )
    return "\n".join(entries)
