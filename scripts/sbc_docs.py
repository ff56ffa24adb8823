"""Pool SBC runs and regenerate the SBC table of MODEL.md from their output files.

    .venv/bin/python scripts/sbc_docs.py docs/sbc/seed_20131126 docs/sbc/seed_20131127 \\
        --pooled-out docs/sbc/pooled --markdown MODEL.md --readme README.md

Each RUN_DIR holds the outputs of one ``bayes-koryo sbc`` run (``sbc_ranks.nc``,
``sbc_table.json``, ``recovery_table.json``). The runs are pooled with
``bayes_koryo.validation.sbc.pool`` (same config and settings, different master seeds) and the
pooled calibration and recovery
tables, ECDF figure and ranks file are written to --pooled-out. With --markdown, the block between
``<!-- sbc:begin -->`` and ``<!-- sbc:end -->`` of that file is replaced by a table with one
column per run and one for the pool, every figure read from those files (``--block NAME``:
the block between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` instead, e.g. an earlier
version's runs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayes_koryo.outputs import tables

BEGIN, END = "<!-- sbc:begin -->", "<!-- sbc:end -->"


def markers(block: str) -> tuple[str, str]:
    """The begin / end markers of the generated block named ``block`` (default ``sbc``)."""
    return f"<!-- {block}:begin -->", f"<!-- {block}:end -->"


SCALE_BINS = ((0.0, 0.1), (0.1, 0.3), (0.3, float("inf")))
"""Bins of the simulated deviation_scale in which the failed fits are counted."""


def _outside(table: list[dict]) -> str:
    """The quantities outside their 95% band: band ratio, p-value and the truths' own ratio."""
    out = []
    for r in (r for r in table if not r["pass"]):
        truths = r.get("truth_cdf_band_ratio")
        alone = "" if truths is None else f"; truths alone {truths:.2f}"
        out.append(
            f"`{r['quantity']}` ({r['band_ratio']:.2f}, p = {r['p_value_pot_c']:.3f}{alone})"
        )
    return ", ".join(out) or "—"


def _coverage(recovery: list[dict], mass: str) -> str:
    values = [r[f"coverage_{mass}"] for r in recovery]
    u = next(r[f"coverage_{mass}"] for r in recovery if r["quantity"].startswith("unique_users"))
    return f"{min(values):.3f}–{max(values):.3f} ({u:.3f})"


def column(meta: dict, table: list[dict], recovery: list[dict]) -> list[str]:
    """The cells of one run's column, in ``ROWS`` order."""
    n = meta["fits"]
    s = meta["settings"]
    return [
        f"{meta['rows_seed']}",
        f"{n}",
        f"{s['chains']} × {s['draws']} after {s['tune']}, thin ≥ {s['thin']}",
        f"{meta['wall_seconds'] / 60:.1f} min (median fit {meta['median_fit_seconds']:.1f} s)",
        f"**{meta['fits_failing_the_gate']}** of {n}",
        " / ".join(f"{k} of {m}" for k, m in meta["failed_by_deviation_scale"]),
        f"{meta['divergent_fits']}",
        f"{meta['fits_r_hat_above_1.01']} / {meta['fits_r_hat_above_1.05']}",
        f"{meta['fits_min_bulk_ess_below_100']}",
        f"{sum(r['pass'] for r in table)} of {len(table)}",
        _outside(table),
        f"{sum(r['pass_familywise'] for r in table)} of {len(table)}",
        _coverage(recovery, "90"),
        _coverage(recovery, "50"),
    ]


ROWS = (
    "master seed",
    "simulations",
    "settings per fit",
    "wall time (2 worker processes)",
    "fits that failed the convergence gate",
    "… of the fits with a true `deviation_scale` < 0.1 / 0.1–0.3 / ≥ 0.3",
    "fits with divergences",
    "fits with max R̂ > 1.01 / > 1.05",
    "fits with min bulk ESS < 100",
    "quantities inside their simultaneous 95% band",
    "outside (band ratio, `pot_c` p-value; band ratio of the truths' prior CDF values alone)",
    "inside the family-wise (Bonferroni) band",
    "90% ETI coverage, range over quantities (U(May 2013))",
    "50% ETI coverage, range (U(May 2013))",
)


def load(run_dir: Path, ranks: Path | None = None) -> tuple[dict, list[dict], list[dict]]:
    """(meta, calibration rows, recovery rows) of one output folder; the median fit time is
    read from ``ranks`` (default: the folder's ``sbc_ranks.nc``)."""
    import numpy as np
    import xarray as xr

    meta = json.loads((run_dir / "sbc_table.json").read_text(encoding="utf-8"))
    recovery = json.loads((run_dir / "recovery_table.json").read_text(encoding="utf-8"))
    table = meta.pop("rows")
    meta["rows_seed"] = table[0]["master_seed"]
    with xr.open_datatree(ranks or run_dir / "sbc_ranks.nc", engine="h5netcdf") as tree:
        sims = tree["simulations"]
        meta["median_fit_seconds"] = float(np.median(sims["fit_seconds"].values))
        scale = sims["truth"].sel(quantity="deviation_scale").values
        failed = sims["converged"].values == 0
        meta["failed_by_deviation_scale"] = [
            (
                int(failed[(scale >= lo) & (scale < hi)].sum()),
                int(((scale >= lo) & (scale < hi)).sum()),
            )
            for lo, hi in SCALE_BINS
        ]
    return meta, table, recovery["rows"]


def markdown(runs: list[tuple[str, tuple]]) -> str:
    columns = [column(*data) for _, data in runs]
    rows = [[name, *(c[i] for c in columns)] for i, name in enumerate(ROWS)]
    return tables.markdown_table(["", *(label for label, _ in runs)], rows)


README_BEGIN, README_END = "<!-- validation:begin -->", "<!-- validation:end -->"


def readme_status(meta: dict, table: list[dict], version: str, runs: int) -> str:
    """The README's validation sentence, from the pooled run's outputs."""
    outside = [r["quantity"] for r in table if not r["pass"]]
    n = meta["fits"]
    return (
        f"Simulation-based calibration (package {version}, production settings, {n} "
        f"simulations from {runs} master seed{'s' if runs > 1 else ''}): "
        f"{sum(r['pass'] for r in table)} of {len(table)} test quantities keep their rank "
        "ECDF inside the simultaneous 95% band"
        + (f" (outside: {', '.join(f'`{q}`' for q in outside)})" if outside else "")
        + f", {sum(r['pass_familywise'] for r in table)} of {len(table)} inside the "
        f"family-wise band. **{meta['fits_failing_the_gate']} of {n} SBC fits failed the "
        f"package's own convergence gate** ({meta['divergent_fits']} with divergences, "
        f"{meta['fits_r_hat_above_1.01']} with R̂ > 1.01): across the whole prior the sampler "
        'does not yet mix as reliably as on the real data; MODEL.md, "Validation".'
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--pooled-out", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument(
        "--block",
        default="sbc",
        help="name of the generated block of --markdown (markers <!-- NAME:begin/end -->)",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="regenerate the validation sentence of this README",
    )
    args = parser.parse_args(argv)
    import xarray as xr

    from bayes_koryo.atomic import replace_marked_block
    from bayes_koryo.validation import sbc

    trees = [xr.open_datatree(d / "sbc_ranks.nc", engine="h5netcdf").load() for d in args.runs]
    pooled = sbc.pool(trees)
    metas = [load(d)[0] for d in args.runs]
    settings = {
        **metas[0]["settings"],
        "simulations": int(pooled.attrs["n_simulations"]),
        "seed": pooled.attrs["master_seed"],
    }
    result = sbc.SBCResult(
        pooled,
        sbc.calibration_table(pooled),
        sbc.recovery_table(pooled),
        float(sum(m["wall_seconds"] for m in metas)),
        settings,
    )
    for path in sbc.write_outputs(result, args.pooled_out):
        print(f"wrote {path}")
    if args.markdown:
        runs = [(f"run {chr(65 + i)} (`{d}`)", load(d)) for i, d in enumerate(args.runs)]
        runs.append((f"pooled (`{args.pooled_out}`)", load(args.pooled_out)))
        replace_marked_block(args.markdown, *markers(args.block), markdown(runs))
        print(f"regenerated the SBC table of {args.markdown}")
    if args.readme:
        meta, table, _ = load(args.pooled_out)
        replace_marked_block(
            args.readme,
            README_BEGIN,
            README_END,
            readme_status(meta, table, pooled.attrs["version_bayes_koryo"], len(args.runs)),
        )
        print(f"regenerated the validation sentence of {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
