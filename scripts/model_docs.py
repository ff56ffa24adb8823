"""Regenerate MODEL.md's sensitivity blocks from the committed sensitivity tables.

    .venv/bin/python scripts/model_docs.py --markdown MODEL.md

reads (defaults in ``docs/``)

- ``sensitivity_variants.json``  written by ``bayes-koryo sensitivity --out-dir ...`` (variants);
- ``structural_range.json``      written by the same command (the declared set's range);
- ``sensitivity_baseline_by_prior.json`` written by ``bayes-koryo sensitivity-table RUN --out
  docs/sensitivity_baseline`` (each group of priors power-scaled alone);
- ``baseline_report.json``       the baseline run's JSON report, written by ``make docs``;
- ``baseline_diagnostics.json``  its convergence diagnostics, written by ``make docs``;
- ``loo.json``                   ``bayes-koryo loo runs/baseline.nc --out-dir docs``: the
  in-sample and leave-one-out check of every reported figure;
- ``lfo_summary.json``, ``lfo_scores.json``, ``lfo_horizons.json`` ``bayes-koryo lfo --out-dir
  docs``: leave-future-out (model comparison; calibration by forecast horizon);
- ``power.json``                 ``bayes-koryo power --out-dir docs``: the power of the checks,
- ``launch_years.json``          ``scripts/launch_years.py``: the launch years, coverage at launch
  free and held at Pyongyang's census share,
- ``prior_predictive.json``      ``scripts/prior_predictive_figure.py``: the prior predictive check,

and replaces the blocks between ``<!-- variants:begin -->`` / ``<!-- variants:end -->``,
``<!-- structural:begin -->`` / ``<!-- structural:end -->``, ``<!-- by-prior:begin -->`` /
``<!-- by-prior:end -->``, ``<!-- evidence:begin -->`` / ``<!-- evidence:end -->`` and
``<!-- checks:begin -->`` / ``<!-- checks:end -->`` (and ``lfo``, ``power``) of the Markdown
file, so
every number
there is read from a table. Without ``--markdown`` the blocks are printed.
``tests/test_docs_tables.py`` checks that the committed MODEL.md equals what this script
writes from the committed tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bayes_koryo.outputs.report import rounded  # noqa: E402
from bayes_koryo.outputs.tables import markdown_table  # noqa: E402

MARKERS = {
    "variants": ("<!-- variants:begin -->", "<!-- variants:end -->"),
    "structural": ("<!-- structural:begin -->", "<!-- structural:end -->"),
    "by-prior": ("<!-- by-prior:begin -->", "<!-- by-prior:end -->"),
    "evidence": ("<!-- evidence:begin -->", "<!-- evidence:end -->"),
    "checks": ("<!-- checks:begin -->", "<!-- checks:end -->"),
    "lfo": ("<!-- lfo:begin -->", "<!-- lfo:end -->"),
    "lfo-horizons": ("<!-- lfo-horizons:begin -->", "<!-- lfo-horizons:end -->"),
    "power": ("<!-- power:begin -->", "<!-- power:end -->"),
    "launch": ("<!-- launch:begin -->", "<!-- launch:end -->"),
    "prior-predictive": ("<!-- prior-predictive:begin -->", "<!-- prior-predictive:end -->"),
}
LABEL = "U(May 2013)"
BY_PRIOR_ROWS = (
    ("unique_users[2012-02-02]", "U(Feb 2012)"),
    ("unique_users[2013-05-28]", "U(May 2013)"),
    ("real_user_share", "U/S"),
    ("sims_per_user", "S/U"),
    ("user_ceiling", "user ceiling"),
    ("penetration_10plus[2013-05-28]", "penetration 10+ (May 2013)"),
    ("decomposition_extra_sims", "extra SIMs (May 2013)"),
    ("decomposition_official_lines", "official lines (May 2013)"),
    ("decomposition_inactive_numbers", "inactive numbers (May 2013)"),
)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _interval(row: dict, label: str) -> str:
    m = row[f"{label} mcse_median"]
    return (
        f"{rounded(row[f'{label} median'], m)} ({rounded(row[f'{label} ci_low'], m)}–"
        f"{rounded(row[f'{label} ci_high'], m)})"
    )


def variants_block(doc: dict) -> str:
    """The variants table (sorted by the shift of U(May 2013)) and the count of gate passes."""
    rows = sorted(doc["rows"], key=lambda r: r[f"{LABEL} shift"])
    body = []
    for r in rows:
        status = "yes" if r["converged"] else f"**no**: {r['failures']}"
        if r.get("attempts", 1) > 1:
            status += f" (after a retry; first fit: {r['first_attempt']})"
        body.append(
            [
                r["variant"],
                _interval(r, LABEL),
                f"{100 * r[f'{LABEL} shift']:+.1f}%",
                _interval(r, "U/S"),
                str(r["divergences"]),
                f"{r['max_r_hat']:.3f}",
                status,
            ]
        )
    first = sum(r["converged"] and r.get("attempts", 1) == 1 for r in rows)
    retried = sum(r["converged"] and r.get("attempts", 1) > 1 for r in rows)
    failed = [r["variant"] for r in rows if not r["converged"]]
    r0 = rows[0]
    head = [
        "variant",
        f"{LABEL}, M: median ({r0['ci_prob']:.0%} {r0['ci_kind']})",
        "shift",
        "U/S",
        "divergences",
        "max R̂",
        "passed the gate",
    ]
    summary = (
        f"{len(rows)} variant fits (seed {', '.join(str(s) for s in doc['meta']['seeds'])}, "
        f"package {doc['meta'].get('package_version', '?')}): {first} passed the convergence "
        f"gate at the first attempt, {retried} after one retry, {len(failed)} did not"
        + (f" ({', '.join(failed)})" if failed else "")
        + "."
    )
    return f"{summary}\n\n{markdown_table(head, body)}\n"


def structural_block(doc: dict) -> str:
    """The structural-range table, as ``bayes-koryo sensitivity`` renders it."""
    import pandas as pd

    from bayes_koryo.validation.sensitivity import structural_table

    return structural_table(pd.DataFrame(doc["rows"])) + "\n"


def by_prior_block(doc: dict) -> str:
    """Per headline quantity: evidence label, sensitivities, and each group of priors alone."""
    rows = {r["quantity"]: r for r in doc["rows"]}
    groups = [k for k in doc["rows"][0] if k.startswith("prior_") and k != "prior_sensitivity"]
    head = [
        "quantity",
        "rests on",
        "all priors",
        "likelihood",
        *(g.removeprefix("prior_").replace("_", " ") for g in groups),
        "most influential",
    ]
    body = []
    for key, text in BY_PRIOR_ROWS:
        if key not in rows:
            continue
        r = rows[key]
        body.append(
            [
                text,
                r["evidence"],
                f"{r['prior_sensitivity']:.3f}",
                f"{r['likelihood_sensitivity']:.3f}",
                *(f"{r[g]:.3f}" for g in groups),
                r["most_influential_prior"].replace("_", " "),
            ]
        )
    khat = max(r["max_pareto_k"] for r in doc["rows"])
    return (
        f"{markdown_table(head, body)}\n\nRun {doc['meta'].get('run_id', '?')}; largest Pareto k "
        f"of the power-scaling weights {khat:.2f} (reliable below 0.7).\n"
    )


def evidence_block(rows: list[dict]) -> str:
    """What each reported quantity rests on: the report's own rows (U at the headline dates,
    then every quantity without a date or at the decomposition date)."""
    import pandas as pd

    from bayes_koryo.inference.summaries import interval_label
    from bayes_koryo.outputs.report import formatted
    from bayes_koryo.study import HEADLINE_DATES

    table = pd.DataFrame(rows)
    keep = (table["quantity"] != "unique_users") | table["date"].isin(HEADLINE_DATES)
    human = formatted(table[keep].reset_index(drop=True))
    label = interval_label(float(table["ci_prob"].iloc[0]), str(table["ci_kind"].iloc[0]))
    columns = ["quantity", "median", label, f"prior {label}"]
    columns += [c for c in ("structural range",) if c in human]
    columns += ["rests on", "sensitivity prior / data", "most influential prior"]
    return markdown_table(columns, human[columns].itertuples(index=False)) + "\n"


def checks_block(diagnostics: dict, loo: dict) -> str:
    """The baseline's convergence line and its in-sample and leave-one-out checks per figure."""
    d, meta, rows = diagnostics, loo["meta"], loo["rows"]
    n = len(rows)
    reliable = [r for r in rows if r["pareto_k"] <= 0.7]
    refitted = [r for r in rows if r["refitted"]]
    scored = [r for r in rows if r["trusted"]]
    lines = [
        f"- **Convergence** (run {d['run_id']}): {d['divergences']} divergences, "
        f"{d['max_treedepth_hits']} draws at the maximum tree depth, max R̂ "
        f"{d['max_r_hat']:.3f}, min bulk / tail ESS {d['min_ess_bulk']:.0f} / "
        f"{d['min_ess_tail']:.0f}, min E-BFMI {d['min_ebfmi']:.2f}: "
        + ("passes the gate." if d["converged"] else "**misses the gate**."),
        f"- **In-sample predictive check** (mid-PIT): {sum(r['inside_90'] for r in rows)} of {n} "
        f"figures in the central 90% of their replicate, {sum(r['inside_50'] for r in rows)} "
        "in the central 50%.",
        f"- **Leave-one-out** (`bayes-koryo loo`, run {meta.get('run_id')}): PSIS-LOO is "
        f"reliable (Pareto k ≤ 0.7) for {len(reliable)} of {n} figures; {len(refitted)} were "
        f"refitted without the figure ({meta['unconverged_refits']} of the refits missed the "
        f"convergence gate); not scored: {', '.join(meta['untrusted']) or 'none'}. Of the "
        f"{len(scored)} scored figures {meta['outside_90']} lie outside their 90% "
        "leave-one-out interval: "
        + ("the check **fails**." if meta["failures"] else "the check passes."),
    ]
    head = ["figure", "reported", "in-sample PIT", "Pareto k", "LOO PIT", "how", "elpd"]
    body = [
        [
            f"{r['kind']} {r['date']}",
            f"{r['reported']:.4g}",
            f"{r['pit']:.2f}",
            f"{r['pareto_k']:.2f}",
            f"{r['pit_loo']:.2f}" if r["trusted"] else "",
            "exact refit" if r["refitted"] else ("PSIS" if r["trusted"] else "not scored"),
            f"{r['elpd']:.2f}" if r["trusted"] else "",
        ]
        for r in rows
    ]
    return "\n".join(lines) + "\n\n" + markdown_table(head, body) + "\n"


def lfo_block(summary: dict, scores: dict) -> str:
    """Leave-future-out per model over all cut-offs, and the refits behind it."""
    rows = [r for r in summary["rows"] if r["cutoff"] == "all"]
    fits = {}
    for r in scores["rows"]:
        fits[(r["model"], r["cutoff"])] = r
    n_fits = len(fits)
    retried = sum(f.get("attempts", 1) > 1 for f in fits.values())
    failed = sorted(f"{m} {c}" for (m, c), f in fits.items() if not f["converged"])
    left_out = rows[0]["cutoffs_left_out"] or "none"
    settings = {m: f"{f['chains']} × {f['draws']}" for (m, _), f in fits.items()}
    head = [
        "model",
        "figures",
        "elpd (SE)",
        "elpd − best",
        "SE: per figure / per cut-off",
        "worse than the best at",
        "50% / 90% coverage",
    ]
    intro = (
        f"{n_fits} refits (seed {', '.join(str(x) for x in scores['meta']['seeds'])}; chains × "
        f"draws: {', '.join(f'{m} {v}' for m, v in settings.items())}): {retried} retried "
        f"once, {len(failed)} still missed the convergence gate"
        + (f" ({', '.join(failed)})" if failed else "")
        + f"; cut-offs left out of the comparison: {left_out}.\n\n"
    )
    if all(r["figures"] == 0 for r in rows):  # every cut-off left out: nothing compared
        passed = {m: 0 for m, _ in fits}
        for (m, _), f in fits.items():
            passed[m] += bool(f["converged"])
        per_model = markdown_table(
            ["model", "refits that passed the gate"],
            [[m, f"{n} of {sum(k[0] == m for k in fits)}"] for m, n in passed.items()],
        )
        return (
            intro + "No cut-off has a converged refit of every model, so the growth forms are not "
            "compared.\n\n" + per_model + "\n"
        )
    body = [
        [
            r["model"],
            str(r["figures"]),
            f"{r['elpd']:.1f} ({r['elpd_se']:.1f})",
            f"{r['elpd_diff']:.1f}",
            f"{r['elpd_diff_se']:.1f} / {r['elpd_diff_se_cutoffs']:.1f}"
            if r["elpd_diff"] != 0
            else "—",
            f"{r['cutoffs_worse']} of {r['fits']} cut-offs" if r["elpd_diff"] != 0 else "—",
            f"{r['coverage_50']:.2f} / {r['coverage_90']:.2f}",
        ]
        for r in sorted(rows, key=lambda r: -r["elpd"])
    ]
    return intro + markdown_table(head, body) + "\n"


def power_block(doc: dict) -> str:
    """The power of the checks: share flagged per scenario and check, and its settings."""
    import pandas as pd

    from bayes_koryo.validation.power import POWER_NOTES, power_markdown

    meta = doc["meta"]
    return (
        f"{meta['simulations_per_scenario']} simulated data sets per scenario (master seed "
        f"{meta['seed']}; each fit {meta['chains']} chains × {meta['draws']} draws after "
        f"{meta['tune']} warm-up, the production settings); scenarios: "
        + "; ".join(f"`{name}`: {text}" for name, text in meta["scenarios"].items())
        + ".\n\n"
        + power_markdown(pd.DataFrame(doc["rows"]))
        + f"\n\n{POWER_NOTES}\n"
    )


def _median_eti(values: list[float], digits: int = 2) -> str:
    """``median [low, high]`` with a typographic minus."""
    text = f"{values[0]:.{digits}f} [{values[1]:.{digits}f}, {values[2]:.{digits}f}]"
    return text.replace("-", "−")


def launch_block(doc: dict) -> str:
    """The launch years: audited net additions, then both fits side by side."""
    additions = markdown_table(
        ["quarter ending", "audited subscribers", "added in the quarter"],
        [
            [r["date"], f"{r['subscribers']:,}", "—" if r["added"] is None else f"{r['added']:,}"]
            for r in doc["net_additions"]
        ],
    )
    fits = doc["fits"]
    rows = [
        ["prior of coverage_at_launch, median [90% ETI]"]
        + [_median_eti(f["coverage_at_launch_prior"]) for f in fits],
        ["posterior of coverage_at_launch"] + [_median_eti(f["coverage_at_launch"]) for f in fits],
        ["posterior of coverage_end_2009"] + [_median_eti(f["coverage_end_2009"]) for f in fits],
        ["deviation_scale"] + [_median_eti(f["deviation_scale"]) for f in fits],
    ]
    for period in fits[0]["early_deviations"]:
        rows.append(
            [f"pace deviation of the period ending {period}"]
            + [_median_eti(f["early_deviations"][period]) for f in fits]
        )
    rows += [
        ["log-likelihood of the audited figures shown above (posterior mean, nats)"]
        + [f"{f['early_log_likelihood']:.1f}" for f in fits],
        ["U(May 2013), millions"] + [_median_eti(f["unique_users_may_2013"]) for f in fits],
        ["convergence gate (divergences, max R̂)"]
        + [
            f"{'pass' if f['converged'] else 'FAIL'} ({f['divergences']}, {f['max_r_hat']:.3f})"
            for f in fits
        ],
    ]
    held = fits[-1]["prior_params"]
    comparison = markdown_table(["", *(f["fit"] for f in fits)], rows)
    return (
        f"{additions}\n\n{comparison}\n\n(`scripts/launch_years.py`: both fits {doc['settings']}, "
        f"seed {doc['seed']}, package {doc['package_version']}, commit {doc['commit']}, "
        f"{doc['date']}; intervals {doc['interval']}s; the held prior is "
        f"Beta({held['alpha']}, {held['beta']}).)\n"
    )


PRIOR_PREDICTIVE_ROWS = (
    ("subscriptions", "S(May 2013), millions of SIMs", 2),
    ("unique_users", "U(May 2013), millions of people", 2),
    ("real_user_share", "U/S", 2),
    ("user_ceiling", "user ceiling, millions", 1),
    ("subscription_ceiling", "subscription ceiling, millions", 1),
    ("penetration_10plus", "U(May 2013) / population aged 10+", 3),
)


def prior_predictive_block(doc: dict) -> str:
    """The prior predictive check: reported counts inside the prior S(t), the implied priors."""
    rows = doc["rows"]
    subs = [r for r in rows if r["quantity"] == "subscriptions"]
    inside = sum(bool(r["inside"]) for r in subs)
    last = {r["quantity"]: r for r in rows if r["quantity"] != "subscriptions"}
    last["subscriptions"] = next(r for r in subs if r["date"] == last["unique_users"]["date"])
    kind = f"{rows[0]['ci_prob']:.0%} {rows[0]['ci_kind']}"
    table = markdown_table(
        ["quantity (prior)", f"median [{kind}]"],
        [
            [label, _median_eti([last[q]["median"], last[q]["ci_low"], last[q]["ci_high"]], d)]
            for q, label, d in PRIOR_PREDICTIVE_ROWS
        ],
    )
    limit, p = doc["penetration_limit"], doc["penetration_prior_probability"]
    verdict = "passes" if p > doc["penetration_prior_required"] else "FAILS"
    return (
        f"{inside} of {len(subs)} reported subscriber counts lie inside the prior {kind} of "
        f"S(t) at their dates. Prior P(U(May 2013) / population aged 10+ < {limit:.0%}) = "
        f"{p:.3f} (required: > {doc['penetration_prior_required']}; {verdict}).\n\n{table}\n\n"
        f"(`scripts/prior_predictive_figure.py`: {doc['draws']} prior draws, seed {doc['seed']}, "
        f"package {doc['package_version']}, commit {doc['commit']}, {doc['date']}.)\n"
    )


def lfo_horizons_block(horizons: dict) -> str:
    """Each model's forecast calibration by horizon, from its own converged refits."""
    head = [
        "model",
        "horizon",
        "figures (refits)",
        "longest, years",
        "50% / 90% coverage",
        "P(coverage this low): 50% / 90%",
        "mean PIT",
        "above the forecast median",
        "elpd per figure",
    ]
    body = [
        [
            r["model"],
            r["horizon"],
            f"{r['figures']} ({r['refits']})",
            f"{r['longest_years']:.1f}" if r["figures"] else "—",
            f"{r['coverage_50']:.2f} / {r['coverage_90']:.2f}" if r["figures"] else "—",
            f"{r['p_coverage_50_this_low']:.3f} / {r['p_coverage_90_this_low']:.2f}"
            if r["figures"]
            else "—",
            f"{r['mean_pit']:.2f}" if r["figures"] else "—",
            f"{r['share_above_median']:.2f}" if r["figures"] else "—",
            f"{r['elpd_per_figure']:.2f}" if r["figures"] else "—",
        ]
        for r in horizons["rows"]
    ]
    unconverged = {r["model"]: r["refits_unconverged"] for r in horizons["rows"]}
    missing = ", ".join(f"{m} {n}" for m, n in unconverged.items() if n) or "none"
    return (
        f"Refits that missed the convergence gate after their retry, not scored: {missing}.\n\n"
        + markdown_table(head, body)
        + "\n"
    )


def blocks(docs: Path) -> dict[str, str]:
    """Every generated block, keyed as ``MARKERS``, from the tables in ``docs``."""
    return {
        "variants": variants_block(_load(docs / "sensitivity_variants.json")),
        "structural": structural_block(_load(docs / "structural_range.json")),
        "by-prior": by_prior_block(_load(docs / "sensitivity_baseline_by_prior.json")),
        "evidence": evidence_block(json.loads((docs / "baseline_report.json").read_text())),
        "checks": checks_block(_load(docs / "baseline_diagnostics.json"), _load(docs / "loo.json")),
        "lfo": lfo_block(_load(docs / "lfo_summary.json"), _load(docs / "lfo_scores.json")),
        "lfo-horizons": lfo_horizons_block(_load(docs / "lfo_horizons.json")),
        "power": power_block(_load(docs / "power.json")),
        "launch": launch_block(_load(docs / "launch_years.json")),
        "prior-predictive": prior_predictive_block(_load(docs / "prior_predictive.json")),
    }


def main(argv=None) -> int:
    """Print the blocks, or write them into --markdown between their markers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    from bayes_koryo.atomic import replace_marked_block

    for name, text in blocks(args.docs).items():
        if args.markdown is None:
            print(f"{MARKERS[name][0]}\n{text}{MARKERS[name][1]}\n")
        else:
            replace_marked_block(args.markdown, *MARKERS[name], text)
    if args.markdown is not None:
        print(f"wrote the {', '.join(MARKERS)} blocks of {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
