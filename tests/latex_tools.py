"""Compile LaTeX snippets with pdflatex the way an author would include them (helper for the
tests; not a test module)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PDFLATEX = shutil.which("pdflatex")
PDFTOPPM = shutil.which("pdftoppm")
SKIP_REASON = (
    "pdflatex not installed: install texlive-latex-base, texlive-latex-recommended "
    "and poppler-utils (`make test` does so as root on Debian)"
)

DOCUMENT = r"""\documentclass[11pt,letterpaper{options}]{{article}}
\usepackage[margin=1in]{{geometry}}
\usepackage{{booktabs,tabularx,longtable}}
\begin{{document}}
{body}
\end{{document}}
"""
"""A plain article: 11pt, 1-inch margins (text block 6.5 in), the snippets' preamble."""

MAX_OVERFULL_PT = 1.0


def compile_document(folder: Path, name: str, body: str, two_column: bool = False) -> Path:
    """Compile ``body`` in the plain article (``two_column``: a two-column journal page,
    columns of about 3.2 in); fail on any LaTeX error or an overfull box wider than
    ``MAX_OVERFULL_PT``; returns the PDF. Renders page PNGs beside it when pdftoppm exists."""
    if PDFLATEX is None:
        pytest.skip(SKIP_REASON)
    tex = folder / f"{name}.tex"
    tex.write_text(DOCUMENT.format(options=",twocolumn" if two_column else "", body=body))
    for _ in range(2):  # twice: longtable settles its column widths on the second run
        proc = subprocess.run(
            [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", tex.name],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
    log = (folder / f"{name}.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert proc.returncode == 0 and not errors, "\n".join(errors) or proc.stdout[-2000:]
    overfull = [float(x) for x in re.findall(r"Overfull \\[hv]box \(([0-9.]+)pt too", log)]
    assert all(x <= MAX_OVERFULL_PT for x in overfull), f"overfull boxes: {overfull} pt"
    if PDFTOPPM is not None:
        subprocess.run(
            [PDFTOPPM, "-png", "-r", "60", f"{name}.pdf", name], cwd=folder, check=True, timeout=120
        )
    return folder / f"{name}.pdf"


def check_latex(text: str) -> None:
    """Well-formed LaTeX (a quick check beside the pdflatex compile of tests/outputs/test_latex.py):
    balanced braces, specials escaped, table rows ended, booktabs rules, paired $."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
    unescaped = re.sub(r"\\.", "", body)  # drop every escaped character
    assert unescaped.count("{") == unescaped.count("}")
    depth = 0
    for ch in unescaped:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert not re.search(r"(?<!\\)[%_#]", body)  # specials escaped outside comments
    for line in body.splitlines():  # an unescaped & only separates cells of table rows
        if re.search(r"(?<!\\)&", line):
            assert line.rstrip().endswith("\\\\"), line
    for env in ("tabularx", "longtable", "table"):
        assert body.count(rf"\begin{{{env}}}") == body.count(rf"\end{{{env}}}")
    assert r"\toprule" in body and r"\midrule" in body and r"\bottomrule" in body
    dollars = len(re.findall(r"(?<!\\)\$", body))
    assert dollars % 2 == 0
