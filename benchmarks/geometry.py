"""Posterior geometry on the baseline: sampler coordinates x mass-matrix adaptation, over seeds.

    .venv/bin/python benchmarks/geometry.py [--out benchmarks/geometry.json]
                                            [--markdown BENCHMARKS.md] [--from-json]

One process, one compile per coordinates setting; for each setting of ``SETTINGS`` and each
seed of ``SEEDS`` a production fit of models/baseline.toml (4 x 1000 after 1000). Prints
one JSON line per fit — divergences, mean leapfrog steps per draw, sampling seconds, the
package's convergence verdict, the quantity with the lowest bulk ESS and its ESS per second,
U(May 2013) median and 90% ETI — and writes them all to --out. With --markdown the tables
between the ``<!-- geometry:begin -->`` / ``<!-- geometry:end -->`` markers of that file are
regenerated from the JSON. Step counts and ESS do not depend on the machine's load; seconds
do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

from bayes_koryo.outputs import tables

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = (
    ("original", "diag", 0.9),
    ("pinned", "diag", 0.9),
    ("pinned", "diag", 0.95),
    ("pinned", "low_rank", 0.9),
)
"""(sampler.coordinates, sampler.adaptation, sampler.target_accept) settings compared."""
SEEDS = (1, 2, 3, 4)
BEGIN, END = "<!-- geometry:begin -->", "<!-- geometry:end -->"


def one_fit(model, seed: int, draws: int | None = None) -> dict:
    """One fit of ``model`` (a KoryoModel) with ``seed`` (and ``draws`` per chain, default the
    config's): the measured row."""
    import numpy as np

    s = model.config.sampler
    draws = s.draws if draws is None else draws
    idata = model.fit(seed=seed, draws=draws, log_densities=False)
    stats = idata["sample_stats"]
    summary = model.diagnostics.summary()
    table = model.diagnostics.table
    worst = table.loc[table["ess_bulk"].idxmin()]
    seconds = float(idata.attrs["sampling_seconds"])
    u = idata["posterior"]["unique_users"].sel(date="2013-05-28").values.ravel()
    q05, q50, q95 = np.quantile(u, [0.05, 0.5, 0.95])
    return {
        "draws": draws,
        "coordinates": s.coordinates,
        "adaptation": s.adaptation,
        "target_accept": s.target_accept,
        "seed": seed,
        "divergences": int(stats["diverging"].sum()),
        "steps_per_draw": round(float(stats["n_steps"].mean()), 1),
        "sampling_seconds": round(seconds, 1),
        "converged": bool(summary["converged"]),
        "max_r_hat": round(summary["max_r_hat"], 4),
        "min_ess_bulk": round(float(worst["ess_bulk"]), 0),
        "min_ess_quantity": str(worst["quantity"]),
        "min_ess_per_second": round(float(worst["ess_bulk"]) / seconds, 1),
        "u_2013_05_28": [round(float(q), 4) for q in (q05, q50, q95)],
    }


def markdown_table(rows: list[dict]) -> str:
    """One line per fit, as written into BENCHMARKS.md."""
    head = [
        "coordinates",
        "adaptation",
        "target accept",
        "seed",
        "steps/draw",
        "divergences",
        "max R-hat",
        "lowest bulk ESS (quantity)",
        "its ESS/s",
        "sampling s",
        "gate",
        "U(May 2013) median [90% ETI], M",
    ]
    cells = []
    for r in rows:
        q05, q50, q95 = r["u_2013_05_28"]
        cells.append(
            [
                r["coordinates"],
                r["adaptation"],
                r["target_accept"],
                r["seed"],
                f"{r['steps_per_draw']:.0f}",
                r["divergences"],
                f"{r['max_r_hat']:.3f}",
                f"{r['min_ess_bulk']:.0f} ({r['min_ess_quantity']})",
                f"{r['min_ess_per_second']:.0f}",
                f"{r['sampling_seconds']:.1f}",
                "pass" if r["converged"] else "FAIL",
                f"{q50:.3f} [{q05:.3f}, {q95:.3f}]",
            ]
        )
    return tables.markdown_table(head, cells)


def markdown_summary(rows: list[dict]) -> str:
    """Per setting: medians over seeds, gate passes, and ratios against the first setting."""
    import statistics

    settings: dict[tuple, list[dict]] = {}
    for r in rows:
        settings.setdefault((r["coordinates"], r["adaptation"], r["target_accept"]), []).append(r)
    medians = {
        key: {
            k: statistics.median(r[k] for r in group)
            for k in ("steps_per_draw", "sampling_seconds", "min_ess_per_second")
        }
        for key, group in settings.items()
    }
    reference = next(iter(medians))
    head = [
        "setting",
        "fits",
        "passed the gate",
        "divergences (sum)",
        "median steps/draw",
        "median sampling s",
        "median lowest-ESS/s",
        "steps vs first",
        "lowest-ESS/s vs first",
    ]
    cells = []
    for key, group in settings.items():
        m, ref = medians[key], medians[reference]
        cells.append(
            [
                " / ".join(map(str, key)),
                len(group),
                sum(r["converged"] for r in group),
                sum(r["divergences"] for r in group),
                f"{m['steps_per_draw']:.0f}",
                f"{m['sampling_seconds']:.1f}",
                f"{m['min_ess_per_second']:.0f}",
                f"{m['steps_per_draw'] / ref['steps_per_draw']:.2f}x",
                f"{m['min_ess_per_second'] / ref['min_ess_per_second']:.2f}x",
            ]
        )
    return tables.markdown_table(head, cells)


def write_markdown(path: Path, results: dict) -> None:
    """Replace the marked block of ``path`` with the tables of ``results``."""
    from bayes_koryo.atomic import replace_marked_block

    replace_marked_block(
        path,
        BEGIN,
        END,
        f"{markdown_summary(results['rows'])}\n\nEvery fit:\n\n"
        f"{markdown_table(results['rows'])}\n\n({results['note']})",
    )


def save_results(path: Path, rows: list[dict], script: str) -> dict:
    """Write ``rows`` with a provenance note (script, time, commit, cores, load) to ``path``."""
    from bayes_koryo import checkout
    from bayes_koryo.atomic import atomic_write_text

    commit, dirty = checkout.commit(), checkout.dirty()
    note = (
        f"{script}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {commit}"
        f"{' with uncommitted changes' if dirty else ''}, {os.cpu_count()} cores, "
        f"load at the end {os.getloadavg()[0]:.1f}"
    )
    results = {"note": note, "rows": rows}
    atomic_write_text(path, json.dumps(results, indent=1) + "\n", overwrite=True)
    print(f"wrote {path}")
    return results


def parse_args(argv, description: str, out: Path) -> argparse.Namespace:
    """The options of a benchmark script: --out JSON, --markdown FILE, --from-json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument(
        "--markdown", type=Path, default=None, help="regenerate the table of this Markdown file"
    )
    parser.add_argument(
        "--from-json", action="store_true", help="do not fit: regenerate --markdown from --out"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv, __doc__.splitlines()[0], ROOT / "benchmarks" / "geometry.json")
    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.model.config import load_config

    if args.from_json:
        results = json.loads(args.out.read_text(encoding="utf-8"))
    else:
        base = load_config(ROOT / "models" / "baseline.toml")
        rows = []
        for coordinates, adaptation, target_accept in SETTINGS:
            model = KoryoModel(
                base.replace(
                    sampler={
                        "coordinates": coordinates,
                        "adaptation": adaptation,
                        "target_accept": target_accept,
                    }
                )
            )
            for seed in SEEDS:
                rows.append(one_fit(model, seed))
                print(json.dumps(rows[-1]), flush=True)
        results = save_results(args.out, rows, "benchmarks/geometry.py")
    if args.markdown:
        write_markdown(args.markdown, results)
        print(f"regenerated the geometry table of {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
