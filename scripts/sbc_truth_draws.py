"""How much of an SBC run's rank pattern the draw of its truths alone explains.

Usage: ``.venv/bin/python scripts/sbc_truth_draws.py [docs/sbc/pooled/sbc_ranks.nc]``

Two checks, neither involving a fit:

1. Scalar free parameters: the prior CDF of the simulated truths
   (``bayes_koryo.validation.sbc.truth_prior_cdf``) - exactly uniform for truths drawn from
   the prior - against the PIT values of the fits: band ratio (max |ECDF - x| / half-width of the
   simultaneous 95% band; > 1 leaves it), ``pot_c`` p-value, correlation.
2. U(May 2013): the data pin the active private SIMs S(1 - iota) to a few percent, and
   U = S (1 - iota) (1 - omega) / r with r = 1 + pi (m - 1) (MODEL.md, section 3), where
   omega, pi and m are nearly prior-dominated. So the posterior of U is close to the
   distribution of g = (1 - omega) / (1 + pi (m - 1)) under the prior, scaled, and the
   "oracle" PIT of U is P_prior(g < g_true) - the rank U would get if the data said
   nothing about omega, pi, m and everything else. Its ECDF against the fits' PIT of U shows
   how much of U's rank pattern comes from the truths of those three parameters.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pymc as pm
import xarray as xr

from bayes_koryo.model.config import config_from_dict
from bayes_koryo.model.priors import prior_distribution
from bayes_koryo.validation import sbc

ORACLE_DRAWS = 400_000
ORACLE_SEED = 20131126


def _prior_draws(config, name: str, rng: np.random.Generator) -> np.ndarray:
    return pm.draw(prior_distribution(config.priors[name], size=ORACLE_DRAWS), random_seed=rng)


def _people_per_active_sim(omega, pi, beyond_two):
    """g = (1 - omega) / (1 + pi (m - 1)) with m = 2 + beyond_two SIMs per heavy user."""
    return (1 - omega) / (1 + pi * (1 + beyond_two))


def main(path: str = "docs/sbc/pooled/sbc_ranks.nc") -> None:
    with xr.open_datatree(path, engine="h5netcdf") as opened:
        tree = opened.load()
    sims = tree["simulations"].to_dataset()
    pit = tree["prior_sbc"].to_dataset()
    n = sims.sizes["simulation"]
    x, lower, upper = sbc.simultaneous_band(n)

    def describe(values) -> str:
        ratio = sbc.band_check(values, x, lower, upper)[1]
        return f"band ratio {ratio:5.2f}, pot_c p {sbc.pot_c_p_value(values):.3f}"

    print(f"{path}: {n} simulations, master seed {int(tree.attrs['master_seed'])}")
    print("1. scalar free parameters: prior CDF of the truths | PIT of the fits | correlation")
    for name, cdf in sbc.truth_prior_cdf(tree).items():
        values = pit[name].values.ravel()
        print(
            f"  {name:20s} truths: {describe(cdf)} | fits: {describe(values)} | "
            f"r = {np.corrcoef(cdf, values)[0, 1]:.2f}"
        )

    config = config_from_dict(json.loads(tree.attrs["config"]), source=path)
    rng = np.random.default_rng(ORACLE_SEED)
    g_prior = np.sort(
        _people_per_active_sim(
            *(
                _prior_draws(config, name, rng)
                for name in ("official_share", "heavy_user_share", "sims_beyond_two")
            )
        )
    )
    truth = {
        q: sims["truth"].sel(quantity=q).values
        for q in ("official_share", "heavy_user_share", "sims_beyond_two")
    }
    g_true = _people_per_active_sim(
        truth["official_share"], truth["heavy_user_share"], truth["sims_beyond_two"]
    )
    oracle = np.searchsorted(g_prior, g_true) / g_prior.size
    u_pit = pit[sbc.U_MAY_2013].values.ravel()
    print(f"2. {sbc.U_MAY_2013} ({ORACLE_DRAWS} prior draws, seed {ORACLE_SEED})")
    print(
        f"  oracle PIT (truths only): {describe(oracle)}; share below 0.2: "
        f"{np.mean(oracle < 0.2):.2f}"
    )
    print(
        f"  PIT of the fits:          {describe(u_pit)}; share below 0.2: "
        f"{np.mean(u_pit < 0.2):.2f}"
    )
    print(f"  correlation: {np.corrcoef(oracle, u_pit)[0, 1]:.2f}")

    def coverage(values, prob):
        return np.mean(np.abs(values - 0.5) < prob / 2)

    print(
        "  coverage of the central 50% / 90% interval: oracle "
        f"{coverage(oracle, 0.5):.3f} / {coverage(oracle, 0.9):.3f}, fits "
        f"{coverage(u_pit, 0.5):.3f} / {coverage(u_pit, 0.9):.3f}"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
