"""Write docs/prior_predictive.png, .csv and .json (the prior predictive check in MODEL.md).

Run: ``.venv/bin/python scripts/prior_predictive_figure.py`` (about a minute), then
``scripts/model_docs.py --markdown MODEL.md`` regenerates MODEL.md's ``prior-predictive`` block
from the JSON.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bayes_koryo import checkout  # noqa: E402
from bayes_koryo.inference.checks import (  # noqa: E402
    PENETRATION_LIMIT,
    PENETRATION_PRIOR_PROB,
    penetration_prior_probability,
    plot_prior_predictive,
    prior_predictive_table,
)
from bayes_koryo.inference.fit import KoryoModel  # noqa: E402
from bayes_koryo.outputs.tables import write_table  # noqa: E402

SEED = 20131126
DRAWS = 4000

if __name__ == "__main__":
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    model = KoryoModel()
    prior = model.sample_prior_predictive(draws=DRAWS, seed=SEED)["prior"].to_dataset()
    plot_prior_predictive(prior, model.observations, docs / "prior_predictive.png")
    table = prior_predictive_table(prior, model.observations)
    probability = penetration_prior_probability(prior)
    header = {
        "draws": DRAWS,
        "seed": SEED,
        "penetration_limit": PENETRATION_LIMIT,
        "penetration_prior_probability": probability,
        "penetration_prior_required": PENETRATION_PRIOR_PROB,
        **checkout.provenance(),
    }
    write_table(table, docs / "prior_predictive", formats=("csv", "json"), header=header)
    print(table.round(4).to_string())
    print(
        f"P(U(May 2013) / population 10+ < {PENETRATION_LIMIT:.0%}) = {probability:.3f}"
        f" ({DRAWS} prior draws, seed {SEED})"
    )
