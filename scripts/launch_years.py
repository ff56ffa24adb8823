"""The launch years: why the posterior of coverage at launch leaves its Pyongyang-only prior.

    .venv/bin/python scripts/launch_years.py --out docs/launch_years.json

Fits ``models/baseline.toml`` on the bundled data at production settings (package seed), then
refits the same compiled model with ``coverage_at_launch`` held near Pyongyang's census share
(prior Beta with mean ``PYONGYANG_SHARE`` and sd ``PYONGYANG_SD``; nothing else changed), and
writes, for both fits, the posterior of the coverage knots, of the pace deviations of the
periods up to March 2010, the summed log-likelihood of the audited figures up to March 2010
(posterior mean, nats), U(May 2013) and the convergence gate; also the audited quarterly net
additions of those years from the bundled data. ``scripts/model_docs.py`` renders MODEL.md's
``launch`` block from the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bayes_koryo.inference.summaries import interval_label
from bayes_koryo.study import CI_PROB

ROOT = Path(__file__).resolve().parents[1]

PYONGYANG_SHARE = 3.26 / 24.05
"""Pyongyang's share of the 2008 census population (3.26M of 24.05M)."""
PYONGYANG_SD = 0.01
"""sd of the held prior: the census rounding and where Pyongyang's coverage area ended."""
LAUNCH_YEARS_END = "2010-03-31"
"""Last report date of the launch years compared here (the first five quarters of 2009-10)."""


def held_prior(mean: float = PYONGYANG_SHARE, sd: float = PYONGYANG_SD) -> dict[str, float]:
    """Beta(alpha, beta) with the given mean and sd (method of moments)."""
    n = mean * (1 - mean) / sd**2 - 1
    return {"alpha": round(mean * n, 2), "beta": round((1 - mean) * n, 2)}


def net_additions(observations: pd.DataFrame) -> list[dict]:
    """Audited counts up to ``LAUNCH_YEARS_END`` and their quarter-on-quarter additions."""
    audited = observations[
        (observations["kind"] == "audited_quarterly")
        & (observations["date"] <= pd.Timestamp(LAUNCH_YEARS_END))
    ].sort_values("date")
    values = audited["value"].to_numpy(float)
    return [
        {
            "date": d.strftime("%Y-%m-%d"),
            "subscribers": int(v),
            "added": None if i == 0 else int(v - values[i - 1]),
        }
        for i, (d, v) in enumerate(zip(audited["date"], values, strict=True))
    ]


def _eti(draws: np.ndarray) -> list[float]:
    """[median, low, high] of the package's interval (``study.CI_PROB``, ETI)."""
    from bayes_koryo.inference.summaries import interval

    return [float(np.median(draws)), *interval(draws, CI_PROB, "ETI")]


def fit_summary(model, label: str, prior: dict[str, float]) -> dict:
    """The compared figures of one fitted KoryoModel."""
    from bayes_koryo.study import TWO_MILLION_DATE

    post = model.idata["posterior"]
    periods = post["period_pace_deviation"]
    early = [p for p in periods["period"].values if p <= np.datetime64(LAUNCH_YEARS_END)]
    log_lik = model.idata["log_likelihood"]["reported_audited_quarterly"]
    dates = log_lik[log_lik.dims[-1]]
    early_lik = log_lik.sel({log_lik.dims[-1]: dates[dates <= np.datetime64(LAUNCH_YEARS_END)]})
    summary = model.diagnostics.summary()
    tail = (1 - CI_PROB) / 2
    beta = stats.beta(prior["alpha"], prior["beta"])
    return {
        "fit": label,
        "coverage_at_launch_prior": [float(beta.median()), *map(float, beta.ppf([tail, 1 - tail]))],
        "coverage_at_launch": _eti(post["coverage_at_launch"].values.ravel()),
        "coverage_end_2009": _eti(post["coverage_end_2009"].values.ravel()),
        "deviation_scale": _eti(post["deviation_scale"].values.ravel()),
        "early_deviations": {
            pd.Timestamp(p).strftime("%Y-%m-%d"): _eti(periods.sel(period=p).values.ravel())
            for p in early
        },
        "early_log_likelihood": float(early_lik.sum(early_lik.dims[-1]).mean()),
        "unique_users_may_2013": _eti(
            post["unique_users"].sel(date=TWO_MILLION_DATE).values.ravel()
        ),
        "converged": bool(summary["converged"]),
        "divergences": int(summary["divergences"] or 0),
        "max_r_hat": float(summary["max_r_hat"]),
    }


def main(argv=None) -> int:
    """Fit both, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "launch_years.json")
    args = parser.parse_args(argv)
    from bayes_koryo import checkout
    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.study import PACKAGE_SEED

    model = KoryoModel()
    own = model.config.priors["coverage_at_launch"].params
    fits = []
    for label, prior in (("baseline", dict(own)), ("coverage at launch held at Pyongyang", None)):
        if prior is None:
            prior = held_prior()
            model.set_priors({"coverage_at_launch": prior})
        model.fit(seed=PACKAGE_SEED)
        fits.append({**fit_summary(model, label, prior), "prior_params": prior})
        print(label, fits[-1]["unique_users_may_2013"], fits[-1]["converged"], file=sys.stderr)
    s = model.config.sampler
    doc = {
        "net_additions": net_additions(model.observations),
        "fits": fits,
        "interval": interval_label(CI_PROB, "ETI"),
        "seed": PACKAGE_SEED,
        "settings": f"{s.chains} × {s.draws} after {s.tune}",
        **checkout.provenance(),
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
