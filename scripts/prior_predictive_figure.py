"""Write docs/prior_predictive.png and docs/prior_predictive.csv (the figure in MODEL.md).

Run: ``.venv/bin/python scripts/prior_predictive_figure.py`` (about a minute).
"""

from pathlib import Path

from bayes_koryo.inference.checks import (
    penetration_prior_probability,
    plot_prior_predictive,
    prior_predictive_table,
)
from bayes_koryo.inference.fit import KoryoModel

SEED = 20131126

if __name__ == "__main__":
    docs = Path(__file__).resolve().parents[1] / "docs"
    docs.mkdir(exist_ok=True)
    model = KoryoModel()
    prior = model.sample_prior_predictive(draws=4000, seed=SEED)["prior"].to_dataset()
    plot_prior_predictive(prior, model.observations, docs / "prior_predictive.png")
    table = prior_predictive_table(prior, model.observations)
    table.to_csv(docs / "prior_predictive.csv", index=False)
    print(table.round(4).to_string())
    print(
        f"P(U(May 2013) / population 10+ < 25%) = {penetration_prior_probability(prior):.3f}"
        f" (4000 prior draws, seed {SEED})"
    )
