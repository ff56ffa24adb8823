"""The analysis notebooks: each one executes without error (fast setting), and the committed
outputs come from the full setting, without errors, warnings or missing figures.

Each notebook runs in a fresh kernel of *this* interpreter (the native ``python3`` kernel,
resolved to ``sys.executable`` whatever kernel specs the user has installed), with
``BAYES_KORYO_NOTEBOOK_FAST=1`` (reduced draws) and ``TMPDIR`` inside pytest's temporary
directory, so nothing is written into the repository. Every kernel compiles the model once
(~45 s); the whole file takes a few minutes.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
FAST_ENV = "BAYES_KORYO_NOTEBOOK_FAST"
CELL_TIMEOUT = 900
"""Seconds per cell in the fast setting (the slowest cell fits several models)."""

FIGURE_CALL = re.compile(
    r"\b(plots\.(trajectory|decomposition|prior_posterior|predictive_check)"
    r"|plot_prior_predictive|plt\.subplots|tornado|ecdf_figure|ecdf_pit_figure"
    r"|arviz_figures\.\w+)\("
)
"""A call that makes a figure: its cell must show an image."""
NO_FIGURES = ("05_citing_results",)

EXPECTED = (
    "01_data_and_priors",
    "02_fit_and_check",
    "03_sensitivity",
    "04_forecast_and_validation",
    "05_citing_results",
)


def _kernel_manager():
    """A kernel manager for the native python3 kernel of this interpreter."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    # kernel_dirs=[]: ignore kernel specs installed for the user or system-wide, whose
    # interpreter may not be this virtual environment's
    specs = KernelSpecManager(kernel_dirs=[])
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)


def test_every_planned_notebook_exists():
    assert [p.stem for p in NOTEBOOKS] == list(EXPECTED)


def test_kernel_is_this_interpreter():
    assert _kernel_manager().kernel_spec.argv[0] == sys.executable


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_outputs_are_full_setting(path):
    """The saved outputs: full setting, no errors, no stderr, every figure rendered."""
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "not executed in full"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
        "cells were not executed once, top to bottom"
    )
    assert FAST_ENV in code[0].source
    first = "".join(o.get("text", "") for o in code[0].outputs)
    assert "Setting: FULL" in first
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", f"{path.name}: {out.get('ename')}"
            if out.output_type == "stream":
                assert out.name == "stdout", f"{path.name}: stderr output {out.text[:200]!r}"
    figures = [c for c in code if FIGURE_CALL.search(c.source)]
    assert figures or path.stem in NO_FIGURES, f"{path.name}: no figure cells found"
    for cell in figures:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), (
            f"{path.name}: a figure cell has no image output:\n{cell.source[:200]}"
        )
    last = "".join(o.get("text", "") for o in code[-1].outputs)
    for package in ("python", "bayes_koryo", "pymc", "arviz", "nutpie", "numpy", "pandas"):
        assert package in last, f"{path.name}: the last cell does not print {package}'s version"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    """Run the notebook top to bottom in the fast setting; any cell error fails the test."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, FAST_ENV: "1", "TMPDIR": str(tmp_path)}
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        km=_kernel_manager(),
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    before = _snapshot(NOTEBOOK_DIR)
    client.execute(env=env)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "Setting: FAST" in "".join(o.get("text", "") for o in code[0].outputs)
    assert _snapshot(NOTEBOOK_DIR) == before, "the notebook wrote into notebooks/"
    assert any(p.name.startswith("bayes_koryo_nb") for p in tmp_path.iterdir()), (
        "the notebook did not put its scratch files in the temporary directory"
    )


def _snapshot(folder: Path) -> set[str]:
    """Files under ``folder`` (a notebook that saves a run or a figure there adds one)."""
    return {str(p) for p in folder.rglob("*") if p.is_file()}
