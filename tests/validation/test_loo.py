"""Leave-one-out with exact refits: a figure whose Pareto k is above 0.7 is refitted without
it and scored exactly; the summary counts what was refitted and what could not be scored.

Cost: ONE exact refit of the session fixture's model without one audited figure (a new
observation layout: one compile, ~45 s) at the fixture's reduced settings.
"""

from __future__ import annotations

import math

import pandas as pd

from bayes_koryo.inference.checks import LOO_K_THRESHOLD
from bayes_koryo.validation import loo


def test_an_exact_refit_scores_the_figure_it_left_out(fitted, tmp_path):
    table = loo.run_loo(fitted, only=[("audited_quarterly", "2010-03-31")], workers=1)
    row = table[(table["kind"] == "audited_quarterly") & (table["date"] == "2010-03-31")].iloc[0]
    others = table.drop(index=row.name)
    assert not others["refitted"].any()
    if row.pareto_k > LOO_K_THRESHOLD:  # refitted only where PSIS is unreliable
        assert row.refitted and row.trusted
        assert math.isfinite(row.elpd_exact) and 0.0 <= row.pit_exact <= 1.0
        assert row.elpd == row.elpd_exact and row.pit_loo == row.pit_exact
    else:
        assert not row.refitted and row.elpd == row.elpd_loo
    # the activity statement is never refitted and counts as not scored unless PSIS is reliable
    activity = table[table["kind"] == "activity_statement"].iloc[0]
    assert not activity.refitted
    assert activity.trusted == (activity.pareto_k <= LOO_K_THRESHOLD)
    summary = loo.loo_summary(table)
    assert summary["figures"] == len(fitted.observations)
    assert summary["refitted"] == int(table["refitted"].sum())
    assert summary["outside_90"] == int((~table.loc[table["trusted"], "inside_90_loo"]).sum())
    paths = loo.write_loo(table, tmp_path, {"run_id": "test", **summary})
    assert [p.name for p in paths] == ["loo.csv", "loo.json", "loo.md"]
    assert len(pd.read_csv(paths[0])) == len(table)
