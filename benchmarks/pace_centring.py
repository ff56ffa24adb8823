"""Partial non-centring of the pace deviations on SBC data sets that failed the gate.

    .venv/bin/python benchmarks/pace_centring.py [--out benchmarks/pace_centring.json]
                                                 [--markdown BENCHMARKS.md] [--from-json]
                                                 [--per-group N] [--centrings 1 0.5 0]

Why: in the published 0.5.0 SBC (docs/sbc/seed_20131126, production settings) many fits miss
the convergence gate, most of them at a simulated deviation_scale below 0.1, where centred
pace deviations form a funnel with their scale. ``sampler.pace_centring = c`` moves
w = deviation / sd^(1-c) ~ Normal(0, sd^c) instead (same prior; tests/model/test_graph.py).

What: the first ``--per-group`` simulations of that run that failed the gate and the first
that passed it (in simulation order; chosen by the stored outcome of the centred fit, not by
anything measured here), each simulated again from its stored seed with the centred baseline
(the simulated truth is checked against the stored one, so the data sets are the SBC's own)
and fitted with every centring in ``--centrings`` with the SBC's fit seed and its settings
(4 x 2000 after 1000). One row per (simulation, centring): gate, divergences, R-hat, steps per
draw, seconds. c = 1 repeats the published fit, so its gate must agree with the stored one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SBC_RUN = ROOT / "docs" / "sbc" / "seed_20131126" / "sbc_ranks.nc"
BEGIN, END = "<!-- centring:begin -->", "<!-- centring:end -->"


def chosen_simulations(per_group: int) -> tuple[list[int], dict]:
    """Indices of the first ``per_group`` failing and passing simulations, and the run's data."""
    import xarray as xr

    tree = xr.open_datatree(SBC_RUN)
    sims = tree["simulations"].to_dataset()
    converged = sims["converged"].values.astype(bool)
    failing = [int(i) for i in np.flatnonzero(~converged)[:per_group]]
    passing = [int(i) for i in np.flatnonzero(converged)[:per_group]]
    quantities = [str(q) for q in sims["quantity"].values]
    truth_scale = sims["truth"].values[:, quantities.index("deviation_scale")]
    stored = {
        "seed": sims["seed"].values,
        "converged": converged,
        "deviation_scale": truth_scale,
        "master_seed": int(tree.attrs["master_seed"]),
        "draws": int(tree.attrs["draws"]),
        "tune": int(tree.attrs["tune"]),
        "chains": int(tree.attrs["chains"]),
    }
    return failing + passing, stored


def published_rows(indices: list[int]) -> list[dict]:
    """The published centred fits (c = 1) of simulations ``indices``, from the SBC run."""
    import xarray as xr

    sims = xr.open_datatree(SBC_RUN)["simulations"].to_dataset()
    quantities = [str(q) for q in sims["quantity"].values]
    scale = sims["truth"].values[:, quantities.index("deviation_scale")]
    return [
        {
            "simulation": i,
            "true_deviation_scale": round(float(scale[i]), 4),
            "published_gate": "passed" if bool(sims["converged"].values[i]) else "failed",
            "centring": 1.0,
            "converged": bool(sims["converged"].values[i]),
            "divergences": int(sims["divergences"].values[i]),
            "max_r_hat": round(float(sims["max_r_hat"].values[i]), 4),
            "min_ess_bulk": round(float(sims["min_ess_bulk"].values[i]), 0),
            "steps_per_draw": float("nan"),  # not stored by the SBC
            "seconds": round(float(sims["fit_seconds"].values[i]), 1),
        }
        for i in indices
    ]


def one_fit(template, fitter, index: int, stored: dict, centring: float) -> dict:
    """Simulate SBC simulation ``index`` again and fit it with ``fitter``; the measured row."""
    from bayes_koryo.model.simulate import simulate_observations

    seed = int(stored["seed"][index])
    sim_seed, fit_seed, _ = (int(s) for s in np.random.SeedSequence(seed).generate_state(3))
    simulated, truth = simulate_observations(template, seed=sim_seed)
    scale = float(np.asarray(truth["deviation_scale"]))
    if not np.isclose(scale, stored["deviation_scale"][index], rtol=1e-12):
        raise RuntimeError(f"simulation {index}: not the SBC's data set (deviation_scale)")
    fitter.set_observations(simulated)
    start = time.perf_counter()
    idata = fitter.fit(
        seed=fit_seed,
        draws=stored["draws"],
        tune=stored["tune"],
        chains=stored["chains"],
        log_densities=False,
    )
    seconds = time.perf_counter() - start
    summary = fitter.diagnostics.summary()
    return {
        "simulation": index,
        "true_deviation_scale": round(scale, 4),
        "published_gate": "passed" if stored["converged"][index] else "failed",
        "centring": centring,
        "converged": bool(summary["converged"]),
        "divergences": int(summary["divergences"] or 0),
        "max_r_hat": round(float(summary["max_r_hat"]), 4),
        "min_ess_bulk": round(float(summary["min_ess_bulk"]), 0),
        "steps_per_draw": round(float(idata["sample_stats"]["n_steps"].mean()), 1),
        "seconds": round(seconds, 1),
    }


def _median(values) -> str:
    """Median of the finite ``values``, or "n/a" (steps per draw of the published fits)."""
    finite = [v for v in values if v == v]
    return f"{statistics.median(finite):.0f}" if finite else "n/a"


def markdown_summary(rows: list[dict]) -> str:
    """Per centring and published outcome: fits, gate passes, divergent fits, medians."""
    from bayes_koryo.outputs.tables import markdown_table

    head = [
        "pace_centring c",
        "published centred fit",
        "fits",
        "passed the gate",
        "fits with divergences",
        "max R-hat > 1.01",
        "median steps/draw",
        "median seconds",
    ]
    cells = []
    for centring in dict.fromkeys(r["centring"] for r in rows):
        for outcome in ("failed", "passed"):
            group = [
                r for r in rows if r["centring"] == centring and r["published_gate"] == outcome
            ]
            if not group:
                continue
            cells.append(
                [
                    f"{centring:g}",
                    outcome,
                    len(group),
                    sum(r["converged"] for r in group),
                    sum(r["divergences"] > 0 for r in group),
                    sum(r["max_r_hat"] > 1.01 for r in group),
                    _median(r["steps_per_draw"] for r in group),
                    f"{statistics.median(r['seconds'] for r in group):.0f}",
                ]
            )
    return markdown_table(head, cells)


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "pace_centring.json")
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--from-json", action="store_true")
    parser.add_argument("--per-group", type=int, default=10)
    parser.add_argument("--centrings", type=float, nargs="+", default=[1.0, 0.5, 0.0])
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from geometry import save_results

    from bayes_koryo.atomic import replace_marked_block
    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.model.config import load_config

    if args.from_json:
        results = json.loads(args.out.read_text(encoding="utf-8"))
    else:
        indices, stored = chosen_simulations(args.per_group)
        config = load_config(ROOT / "models" / "baseline.toml")
        template = KoryoModel(config)
        rows = []
        for centring in args.centrings:
            fitter = KoryoModel(config.replace(sampler={"pace_centring": centring}))
            for index in indices:
                rows.append(one_fit(template, fitter, index, stored, centring))
                print(json.dumps(rows[-1]), flush=True)
        results = save_results(args.out, rows, "benchmarks/pace_centring.py")
    fitted = results["rows"]
    indices = list(dict.fromkeys(r["simulation"] for r in fitted))
    rows = published_rows(indices) + [r for r in fitted if r["centring"] != 1.0]
    print(markdown_summary(rows))
    if args.markdown:
        replace_marked_block(
            args.markdown,
            BEGIN,
            END,
            f"{markdown_summary(rows)}\n\n(c = 1: the published SBC fits, read from "
            f"{SBC_RUN.relative_to(ROOT)}; c < 1: {results['note']})",
        )
        print(f"regenerated the centring table of {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
