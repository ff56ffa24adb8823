"""Mass-matrix adaptation on the baseline: nutpie "diag" against "low_rank", over seeds.

    .venv/bin/python benchmarks/adaptation.py [--out benchmarks/adaptation.json]

One process, one compile; for each (adaptation, target_accept) and seed 1, 2, 3 a
4 x 1000 fit (1000 warm-up) of models/baseline.toml. Prints one JSON line per fit
(divergences, mean leapfrog steps per draw, sampling seconds, the package's convergence
verdict, bulk ESS of U(May 2013) per second and per 1000 gradient evaluations) and writes
them all to --out. Step counts and ESS do not depend on the machine's load; seconds do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = (("low_rank", 0.9), ("low_rank", 0.95), ("diag", 0.9))
SEEDS = (1, 2, 3)


def one_fit(model, config, adaptation: str, target_accept: float, seed: int) -> dict:
    import arviz as az

    model.config = config.replace(sampler={"adaptation": adaptation,
                                           "target_accept": target_accept})
    idata = model.fit(seed=seed, log_densities=False)
    stats = idata["sample_stats"]
    summary = model.diagnostics.summary()
    u = idata["posterior"]["unique_users"].sel(date="2013-05-28").to_dataset(name="u")
    ess_u = float(az.ess(u, method="bulk")["u"])
    seconds = float(idata.attrs["sampling_seconds"])
    return {"adaptation": adaptation, "target_accept": target_accept, "seed": seed,
            "divergences": int(stats["diverging"].sum()),
            "steps_per_draw": round(float(stats["n_steps"].mean()), 1),
            "sampling_seconds": round(seconds, 1), "converged": bool(summary["converged"]),
            "max_r_hat": round(summary["max_r_hat"], 4),
            "min_ess_bulk": round(summary["min_ess_bulk"], 0),
            "ess_bulk_u_2013_05_28": round(ess_u, 0),
            "ess_u_per_second": round(ess_u / seconds, 1),
            "ess_u_per_1000_gradients": round(ess_u / float(stats["n_steps"].sum()) * 1000, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "adaptation.json")
    args = parser.parse_args(argv)
    from bayes_koryo.atomic import atomic_write_text
    from bayes_koryo.config import load_config
    from bayes_koryo.inference import KoryoModel

    config = load_config(ROOT / "models" / "baseline.toml")
    model = KoryoModel(config)
    rows = []
    for adaptation, target_accept in SETTINGS:
        for seed in SEEDS:
            rows.append(one_fit(model, config, adaptation, target_accept, seed))
            print(json.dumps(rows[-1]), flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    note = (f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, "
            f"load at the end {os.getloadavg()[0]:.1f}")
    atomic_write_text(args.out, json.dumps({"note": note, "rows": rows}, indent=1) + "\n",
                      overwrite=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
