"""Citable summaries of a fitted run: one row per headline quantity, digits backed by MCSE.

One interval convention for the whole package: ``CI_PROB`` (0.90) equal-tailed intervals
(``CI_KIND = "ETI"``); HDI on request (``kind="HDI"``). Every table states both, and every
public function (and CLI option) that takes an interval mass or kind defaults to them.

Counts are in millions (people or SIMs); shares are fractions.

Entry points: ``build_report(model)`` returns a :class:`Report` (the raw table, the
probabilities and the provenance); ``render(report, fmt)`` writes it as ``md``, ``csv`` or
``json`` (the JSON fields are documented in the README) — the LaTeX snippets are
``bayes_koryo.outputs.latex`` and the HTML page ``bayes_koryo.outputs.webpage``, both built on
this module;
``forecast_table(model, dates)`` summarises ``KoryoModel.forecast`` the same way.

Built from: ``outputs.quantities`` (what is reported), ``outputs.digits`` (MCSE-backed
rounding), ``outputs.claims`` (probabilities and what they rest on) and ``outputs.evidence``
(evidence labels, structural range); their public names are re-exported here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.inference.summaries import as_draws, check_kind, interval, interval_label
from bayes_koryo.outputs.claims import (
    CLAIMS,
    PRIOR_PROBABILITY_TOLERANCE,
    PROBABILITY_COLUMNS,
    PROBABILITY_HEADER,
    Claim,
    basis_text,
    format_probability,
    probabilities,
    probability_rows,
    reported_counts,
)
from bayes_koryo.outputs.digits import round_to, rounded, supported_decimals
from bayes_koryo.outputs.digits import significant as _sig
from bayes_koryo.outputs.evidence import (
    SENSITIVITY_COLUMNS,
    STRUCTURAL_FIELDS,
    read_structural_range,
    sensitivity_methods,
    structural_methods,
    with_sensitivity,
    with_structural_range,
)
from bayes_koryo.outputs.quantities import Quantity, headline_quantities
from bayes_koryo.outputs.quantities import quantity_draws as _draws
from bayes_koryo.outputs.tables import markdown_table
from bayes_koryo.study import (
    CI_KIND,
    CI_PROB,
    DECOMPOSITION_DATE,
    KIND_NAMES,
    ONE_MILLION_DATE,
    TWO_MILLION_DATE,
)

REPORT_FORMATS = ("md", "latex", "html", "csv", "json")
"""Formats of ``bayes-koryo report --format``."""
TEXT_FORMATS = ("md", "csv", "json")
"""Formats ``render`` writes (latex: ``bayes_koryo.outputs.latex``; html:
``bayes_koryo.outputs.webpage``)."""
JSON_FIELDS = (
    "quantity",
    "date",
    "units",
    "median",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
    "ci_prob",
    "ci_kind",
    "prior_ci_low",
    "prior_ci_high",
    "prior_sensitivity",
    "likelihood_sensitivity",
    "most_influential_prior",
    "evidence",
    "sensitivity_pareto_k",
    "structural_low",
    "structural_high",
    "structural_variants",
    "structural_driver",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "mcse_median",
    "mcse_mean",
    "mcse_ci_low",
    "mcse_ci_high",
    "converged",
)
"""Fields of every object of the JSON report (and columns of the CSV), in order.
``prior_sensitivity`` / ``likelihood_sensitivity``: power-scaling sensitivity to all priors /
to the likelihood (``bayes_koryo.inference.prior_sensitivity``; null when the run has no log
densities); ``most_influential_prior``: the group of priors with the largest sensitivity;
``evidence``: data-driven, prior-driven or prior-data conflict; ``sensitivity_pareto_k``:
the largest Pareto k of the power-scaling weights (reliable below 0.7). ``structural_*``: the union
of the 90% ETIs across the declared variants (``structural_variants`` of them) and the variant
that moves the median most (null without ``--structural-range``). ``converged`` is false on
every row of a run that missed a convergence threshold."""

PRIOR_DRAWS = 2000
"""Prior draws sampled for the prior intervals when a run file carries no prior group."""


# --------------------------------------------------------------------------- numbers


def summarise(
    idata,
    quantities: list[Quantity],
    prior: xr.Dataset | None = None,
    prob: float = CI_PROB,
    kind: str = CI_KIND,
) -> pd.DataFrame:
    """Tidy table: one row per quantity with raw numbers, interval, prior interval, R-hat..."""
    posterior = idata["posterior"].to_dataset() if hasattr(idata, "children") else idata
    rows = []
    for q in quantities:
        draws = _draws(posterior, q)
        prior_draws = _draws(prior, q) if prior is not None and q.variable in prior else None
        rows.append(summary_row(draws, q.name, q.date, q.units, prob, kind, prior_draws))
    return pd.DataFrame(rows, columns=list(JSON_FIELDS))


def summary_row(
    draws,
    quantity: str,
    date: str | None,
    units: str,
    prob: float = CI_PROB,
    kind: str = CI_KIND,
    prior_draws=None,
) -> dict:
    """One row of a report table (see ``JSON_FIELDS``) from (chain, draw) draws."""
    draws = as_draws(draws).rename(None)
    ds = draws.to_dataset(name="x")
    low, high = interval(draws, prob, kind)
    p_low, p_high = (
        interval(prior_draws, prob, kind) if prior_draws is not None else (math.nan, math.nan)
    )
    return {
        "quantity": quantity,
        "date": date,
        "units": units,
        "median": float(draws.median()),
        "mean": float(draws.mean()),
        "sd": float(draws.std()),
        "ci_low": low,
        "ci_high": high,
        "ci_prob": prob,
        "ci_kind": kind,
        "prior_ci_low": p_low,
        "prior_ci_high": p_high,
        "r_hat": float(azs.rhat(ds)["x"]),
        "ess_bulk": float(azs.ess(ds, method="bulk")["x"]),
        "ess_tail": float(azs.ess(ds, method="tail")["x"]),
        "mcse_median": float(azs.mcse(ds, method="median")["x"]),
        "mcse_mean": float(azs.mcse(ds, method="mean")["x"]),
        "mcse_ci_low": _interval_mcse(ds, prob, kind, low, 0),
        "mcse_ci_high": _interval_mcse(ds, prob, kind, high, 1),
    }


def _interval_mcse(ds: xr.Dataset, prob: float, kind: str, bound: float, side: int) -> float:
    """Return the MCSE of an interval bound: the MCSE of the matching quantile.

    For an HDI bound, that is the quantile at the bound's empirical probability.
    """
    if kind == "ETI":
        q = (1 - prob) / 2 if side == 0 else (1 + prob) / 2
    else:
        q = float(np.clip((ds["x"].values <= bound).mean(), 1e-3, 1 - 1e-3))
    return float(azs.mcse(ds, method="quantile", prob=q)["x"])


# --------------------------------------------------------------------------- the report


@dataclass
class Report:
    """Everything a rendered report shows: raw table, probabilities and provenance."""

    table: pd.DataFrame
    probabilities: pd.DataFrame
    attrs: dict = field(default_factory=dict)

    @property
    def prob(self) -> float:
        """Mass of the table's intervals (``CI_PROB`` for an empty table)."""
        return float(self.table["ci_prob"].iloc[0]) if len(self.table) else CI_PROB

    @property
    def kind(self) -> str:
        """Kind of the table's intervals, ETI or HDI (``CI_KIND`` for an empty table)."""
        return str(self.table["ci_kind"].iloc[0]) if len(self.table) else CI_KIND

    def sentence(self) -> str:
        """Return the result sentence (``result_sentence``) with the fitted data's own count."""
        return result_sentence(self.table, self.attrs.get(REPORTED_AT_DECOMPOSITION))


def prior_dataset(model, draws: int = PRIOR_DRAWS, seed: int | None = None) -> xr.Dataset:
    """Return the run's prior draws; sampled (seed recorded as ``prior_seed``) if it has none."""
    if "prior" not in model.idata.children:
        model.sample_prior_predictive(draws=draws, seed=seed)
    return model.idata["prior"].to_dataset()


def build_report(
    model, prob: float = CI_PROB, kind: str = CI_KIND, structural: pd.DataFrame | None = None
) -> Report:
    """Build the report of a fitted (or loaded) KoryoModel.

    ``structural``: a structural-range table (``read_structural_range``) of variants fitted on
    the same data; its ranges fill the ``structural_*`` fields.
    """
    kind = check_kind(kind)
    prior = prior_dataset(model)
    posterior = model.idata["posterior"].to_dataset()
    quantities = headline_quantities(posterior, model.model.report_dates)
    table = summarise(model.idata, quantities, prior=prior, prob=prob, kind=kind)
    table = with_sensitivity(table, model, quantities)
    obs = model.observations
    probs = probabilities(model.idata, prior=prior, reported=reported_counts(obs))
    attrs = dict(model.idata.attrs)
    if structural is not None:
        from bayes_koryo.data import data_hash

        fitted_on = str(attrs.get("data_hash") or data_hash(obs))
        table = with_structural_range(table, structural, fitted_on)
        attrs["structural_range_json"] = json.dumps(structural.attrs.get("meta", {}))
    attrs.setdefault("config_name", model.config.name)
    attrs.update(
        {
            "growth_form": model.config.growth_form,
            "n_observations": len(obs),
            "n_kinds": int(obs["kind"].nunique()),
            "first_date": pd.Timestamp(obs["date"].min()).strftime("%Y-%m-%d"),
            "last_date": pd.Timestamp(obs["date"].max()).strftime("%Y-%m-%d"),
            "prior_draws": int(prior.sizes.get("chain", 1) * prior.sizes.get("draw", 0)),
        }
    )
    reported = reported_at_decomposition(obs)
    if reported is not None:
        attrs[REPORTED_AT_DECOMPOSITION] = reported
    if "versions_json" not in attrs:  # an unsaved fit: the versions of this process
        from bayes_koryo.inference.runs import versions

        attrs["versions_json"] = json.dumps(versions(), sort_keys=True)
    if model.diagnostics is not None:  # recomputed from the draws when a run is loaded
        attrs["diagnostics_json"] = json.dumps(model.diagnostics.summary())
    return Report(table, probs, attrs)


def render(report: Report, fmt: str) -> str:
    """Render the report as text: ``md``, ``csv`` or ``json`` (``TEXT_FORMATS``)."""
    if fmt == "md":
        return markdown(report.table, report.probabilities, report.attrs)
    # the convergence flag comes from the run's diagnostics, whoever built the table
    table = report.table.assign(converged=bool(_diagnostics(report.attrs).get("converged", False)))
    if fmt == "csv":
        return table.reindex(columns=list(JSON_FIELDS)).to_csv(index=False)
    if fmt == "json":
        return to_json(table)
    raise ValueError(
        f"render writes {', '.join(TEXT_FORMATS)}, not {fmt!r} (latex: "
        "bayes_koryo.outputs.latex.snippet; html: bayes_koryo.outputs.webpage.page)"
    )


def to_json(table: pd.DataFrame) -> str:
    """Return the stable JSON report: a list with one object per row of ``table``.

    Each object has the fields ``JSON_FIELDS`` (raw numbers; NaN as null).
    """
    records = []
    for row in table.reindex(columns=list(JSON_FIELDS)).to_dict(orient="records"):
        records.append({k: _json_value(v) for k, v in row.items()})
    return json.dumps(records, indent=2) + "\n"


def _json_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Human table: each number rounded to the digits its MCSE supports.

    With the sensitivity columns (``with_sensitivity``): the evidence label, the two
    sensitivities and the most influential group of priors; with a structural range
    (``with_structural_range``): the range and the number of variants behind it.
    """
    out = []
    structural = "structural_low" in table and bool(table["structural_low"].notna().any())
    for r in table.itertuples():
        d_ci = min(
            supported_decimals(r.mcse_ci_low, value=r.ci_low),
            supported_decimals(r.mcse_ci_high, value=r.ci_high),
        )
        label = interval_label(r.ci_prob, r.ci_kind)
        prior = (
            ""
            if math.isnan(r.prior_ci_low)
            else f"{_sig(r.prior_ci_low)} – {_sig(r.prior_ci_high)}"
        )
        out.append(
            {
                "quantity": r.quantity + (f" ({r.date})" if isinstance(r.date, str) else ""),
                "units": r.units,
                "median": rounded(r.median, r.mcse_median),
                "mean": rounded(r.mean, r.mcse_mean),
                "sd": _sig(r.sd),
                label: f"{round_to(r.ci_low, d_ci)} – {round_to(r.ci_high, d_ci)}",
                f"prior {label}": prior,
                **_evidence_cells(r),
                **({"structural range": _structural_cell(r, d_ci)} if structural else {}),
                "R-hat": f"{r.r_hat:.3f}",
                "ESS bulk/tail": f"{r.ess_bulk:.0f} / {r.ess_tail:.0f}",
                "MCSE (median)": _sig(r.mcse_median),
            }
        )
    return pd.DataFrame(out)


def _evidence_cells(r) -> dict[str, str]:
    """Cells of the evidence columns of ``formatted`` (none for a table without them)."""
    if not isinstance(getattr(r, "evidence", None), str):  # e.g. a forecast table
        return {}
    measured = math.isfinite(r.prior_sensitivity)
    return {
        "rests on": str(r.evidence),
        "sensitivity prior / data": (
            f"{r.prior_sensitivity:.2g} / {r.likelihood_sensitivity:.2g}" if measured else ""
        ),
        "most influential prior": str(r.most_influential_prior) if measured else "",
    }


def _structural_cell(r, decimals: int) -> str:
    """Format the structural range of one row at the decimals of its interval ("" if none)."""
    if not math.isfinite(r.structural_low):
        return ""
    return (
        f"{round_to(r.structural_low, decimals)} – {round_to(r.structural_high, decimals)} "
        f"({int(r.structural_variants)} converged variants)"
    )


def _diagnostics(attrs: dict) -> dict:
    return json.loads(attrs.get("diagnostics_json", "{}") or "{}")


def _sampler(attrs: dict) -> dict:
    if attrs.get("sampler_json"):
        return json.loads(attrs["sampler_json"])
    return {
        k: attrs[k] for k in ("sampler", "draws", "tune", "chains", "target_accept") if k in attrs
    }


def table_note(table: pd.DataFrame) -> str:
    """Return the sentence under every table: units, interval kind and mass, rounding."""
    prob, kind = float(table["ci_prob"].iloc[0]), str(table["ci_kind"].iloc[0])
    return (
        f"Counts in millions; shares as fractions. Intervals: {interval_label(prob, kind)} "
        f"({prob * 100:g}% {KIND_NAMES[kind]}) of the posterior; prior intervals of the "
        "same kind and mass, to two significant digits. Each posterior number is rounded "
        "to the digits its Monte Carlo standard error (MCSE) supports."
    )


def diagnostics_line(attrs: dict) -> str:
    """Divergences, max R-hat, min ESS and the sampler, in one line."""
    d, s = _diagnostics(attrs), _sampler(attrs)
    parts = [
        f"sampler {s.get('sampler', '?')} ({s.get('chains', '?')} chains × "
        f"{s.get('draws', '?')} draws after {s.get('tune', '?')} warm-up, target accept "
        f"{s.get('target_accept', '?')})"
    ]
    if d:
        parts += [
            f"divergences {_statistic(d, 'divergences', 'd')}",
            f"max tree depth hits {_statistic(d, 'max_treedepth_hits', 'd')}",
            f"max R-hat {_statistic(d, 'max_r_hat', '.3f')}",
            f"min ESS bulk {_statistic(d, 'min_ess_bulk', '.0f')}",
            f"min ESS tail {_statistic(d, 'min_ess_tail', '.0f')}",
            f"min E-BFMI {_statistic(d, 'min_ebfmi', '.2f')}",
            "converged" if d.get("converged") else "NOT CONVERGED",
        ]
    return "; ".join(parts)


def _statistic(diagnostics: dict, key: str, spec: str) -> str:
    """Format one diagnostic of a run's summary with the format ``spec``.

    "not measured" when the sampler did not record it (None), "?" when the run file
    predates the statistic.
    """
    if key not in diagnostics:
        return "?"
    value = diagnostics[key]
    return "not measured" if value is None else format(value, spec)


def provenance(attrs: dict) -> list[tuple[str, str]]:
    """(label, value) pairs of the footer: run id, config, data hash, seeds, versions."""
    versions = json.loads(attrs.get("versions_json", "{}") or "{}")
    prior_seed = attrs.get("prior_seed")
    return [
        ("run id", str(attrs.get("run_id", ""))),
        ("model config", str(attrs.get("config_name", ""))),
        ("data hash (SHA-256)", str(attrs.get("data_hash", ""))),
        ("seed", str(attrs.get("seed", ""))),
        (
            "prior draws",
            f"{attrs.get('prior_draws', '?')} (seed {'' if prior_seed is None else prior_seed})",
        ),
        ("diagnostics", diagnostics_line(attrs)),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))),
    ]


COORDINATE_PHRASES = {
    "log_subscription_ceiling": ("the log subscription ceiling", "the ceiling share"),
    "log_initial_subscription_rate": ("the log initial subscription rate", "the innovation rate"),
    "log_restricted_subscription_rate": (
        "the log subscription rate under restricted access",
        "the restricted pace",
    ),
}
"""Readable names of the pinned sampler coordinates (``model.PINNED_COORDINATES``) and of the
quantities they stand in for, for the methods paragraph."""


def _coordinates_text(config_json: str | None) -> str:
    """Return the methods sentence on a run config's sampler coordinates ("" if original)."""
    from bayes_koryo.model.config import config_from_dict
    from bayes_koryo.model.graph import sampler_coordinates

    config = json.loads(config_json or "{}")
    if "coordinates" not in config.get("sampler", {}):  # runs before 0.4.0: original coordinates
        return ""
    pinned = sampler_coordinates(config_from_dict(config, source="<run>"))
    if not pinned:
        return ""
    new, old = zip(*(COORDINATE_PHRASES[c] for c in pinned), strict=True)

    def join(words):
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

    return (
        f"The sampler moved {join(new)}, which the figures determine, instead of "
        f"{join(old)}: a change of variables that leaves every prior unchanged. "
    )


def methods_text(report: Report) -> str:
    """One paragraph for a methods section, from the run's own numbers."""
    a, d, s = report.attrs, _diagnostics(report.attrs), _sampler(report.attrs)
    versions = json.loads(a.get("versions_json", "{}") or "{}")
    label = interval_label(report.prob, report.kind)
    coordinates = _coordinates_text(a.get("config_json"))
    return (
        f"We estimated the number of distinct Koryolink users with the Bayesian model of "
        f"bayes_koryo {versions.get('bayes_koryo', a.get('package_version', ''))} "
        f"(model configuration '{a.get('config_name', '?')}', {a.get('growth_form', '?')} "
        f"diffusion), conditioning on {a.get('n_observations', '?')} public figures of "
        f"{a.get('n_kinds', '?')} kinds ({a.get('first_date', '?')} to "
        f"{a.get('last_date', '?')}; rounded figures enter as their rounding cells). "
        f"The posterior was sampled with {s.get('sampler', '?')} "
        f"{versions.get(str(s.get('sampler', '')), '')} under PyMC {versions.get('pymc', '?')}"
        f" ({s.get('chains', '?')} chains of {s.get('draws', '?')} draws after "
        f"{s.get('tune', '?')} warm-up, target acceptance {s.get('target_accept', '?')}, seed "
        f"{a.get('seed', '?')}); there were "
        f"{_statistic(d, 'divergences', 'd')} divergent transitions, the largest R-hat was "
        f"{_statistic(d, 'max_r_hat', '.3f')} and the smallest bulk ESS "
        f"{_statistic(d, 'min_ess_bulk', '.0f')}. {coordinates}We report posterior medians "
        f"with {label}s "
        f"({report.prob * 100:g}% {KIND_NAMES[report.kind]}s) beside the prior interval of "
        f"the same kind from {a.get('prior_draws', '?')} prior draws, rounded to the digits "
        f"their Monte Carlo standard errors support (run {a.get('run_id', '?')}, data hash "
        f"{str(a.get('data_hash', ''))[:12]})."
        + sensitivity_methods(report.table)
        + structural_methods(report.attrs, interval_label(report.prob, report.kind))
    )


REPORTED_AT_DECOMPOSITION = "reported_subscribers_at_decomposition"
"""Report attribute: the largest subscriber figure of the fitted data dated on
``DECOMPOSITION_DATE`` (millions), absent when the data have none."""


def reported_at_decomposition(observations: pd.DataFrame) -> float | None:
    """Return the largest subscriber count reported on ``DECOMPOSITION_DATE`` (millions) or None."""
    return reported_counts(observations).get(DECOMPOSITION_DATE)


def result_sentence(table: pd.DataFrame, reported: float | None = None) -> str:
    """Return the result sentence, ready to paste, generated from the table.

    ``reported`` is the subscriber figure of the fitted data on 28 May 2013 (millions;
    ``reported_at_decomposition``); the sentence names no count when it is None.
    """
    row = table[(table["quantity"] == "unique_users") & (table["date"] == TWO_MILLION_DATE)]
    share = table[table["quantity"] == "real_user_share"]
    if row.empty or share.empty:
        return ""
    r, s = row.iloc[0], share.iloc[0]
    d = min(
        supported_decimals(r.mcse_ci_low, value=r.ci_low),
        supported_decimals(r.mcse_ci_high, value=r.ci_high),
    )
    ds = min(
        supported_decimals(s.mcse_ci_low, value=s.ci_low),
        supported_decimals(s.mcse_ci_high, value=s.ci_high),
    )
    label = interval_label(r.ci_prob, r.ci_kind)
    return (
        f"We estimate that {rounded(r['median'], r.mcse_median)} "
        f"million distinct people ({label} {round_to(r.ci_low, d)}–{round_to(r.ci_high, d)} "
        f"million) stood behind {_reported_phrase(reported)}, "
        f"i.e. {rounded(s['median'], s.mcse_median)} "
        f"people per registered SIM ({label} {round_to(s.ci_low, ds)}–"
        f"{round_to(s.ci_high, ds)})." + _structural_clause(r, d, label) + _evidence_clause(r, s)
    )


def _structural_clause(r, decimals: int, label: str) -> str:
    """Sentence on the structural range of U (empty without one)."""
    low = r.get("structural_low", math.nan)
    if not isinstance(low, float) or not math.isfinite(low):
        return ""
    return (
        f" Across the {int(r.structural_variants)} declared model variants that passed the "
        f"convergence gate, the {label}s "
        f"of the number of people span {round_to(low, decimals)}–"
        f"{round_to(r.structural_high, decimals)} million; the assumption that moves it most "
        f"is {r.structural_driver}."
    )


def _evidence_clause(r, s) -> str:
    """Sentence saying whether U and U/S are data- or prior-driven (empty if not measured)."""
    from bayes_koryo.inference.prior_sensitivity import GROUP_PHRASES, PSENSE_THRESHOLD

    parts = []
    for row, name in ((r, "the number of people"), (s, "the share")):
        p = row.get("prior_sensitivity", math.nan)
        if not isinstance(p, float) or not math.isfinite(p):
            return ""
        parts.append(
            f"{name} is {row.evidence} (sensitivity {p:.2g} to the priors, "
            f"{row.likelihood_sensitivity:.2g} to the data)"
        )
    group = GROUP_PHRASES.get(str(r.most_influential_prior), str(r.most_influential_prior))
    return (
        f" By power-scaling (threshold {PSENSE_THRESHOLD:g}), {parts[0]} and {parts[1]}; "
        f"the priors that weigh most on the number of people are {group}."
    )


def _reported_phrase(reported: float | None) -> str:
    if reported is None:
        return "Koryolink's registered SIMs on 28 May 2013"
    return f"Koryolink's {reported:.3g} million reported subscriptions on 28 May 2013"


def markdown(table: pd.DataFrame, probs: pd.DataFrame, attrs: dict) -> str:
    """Render the Markdown report: table, probabilities, result sentence, methods, provenance."""
    report = Report(table, probs, attrs)
    human = formatted(table)
    lines = [f"# bayes_koryo report: {attrs.get('config_name', '?')}", ""]
    diag = _diagnostics(attrs)
    if not diag.get("converged", False):
        lines += [
            "> **WARNING: this run did not pass the convergence checks; do not cite "
            "its numbers.** " + "; ".join(diag.get("failures", [])[:5]),
            "",
        ]
    lines += _md_table(list(human.columns), [list(r) for r in human.itertuples(index=False)])
    lines += ["", table_note(table), "", "## Probabilities", ""]
    lines += _md_table(list(PROBABILITY_HEADER), [list(r) for r in probability_rows(probs)])
    lines += [
        "",
        "## Result sentence",
        "",
        result_sentence(table, attrs.get(REPORTED_AT_DECOMPOSITION)),
        "",
        "## Methods",
        "",
        methods_text(report),
        "",
        "## Provenance",
        "",
    ]
    lines += [f"- {label}: `{value}`" for label, value in provenance(attrs)]
    return "\n".join(lines) + "\n"


def _md_table(head: list[str], rows: list[list]) -> list[str]:
    return markdown_table(head, rows).splitlines()


# --------------------------------------------------------------------------- forecasts

FORECAST_QUANTITIES = (
    ("reported_subscriptions", "million SIMs"),
    ("unique_users", "million people"),
)


def forecast_table(
    model, dates, prob: float = CI_PROB, kind: str = CI_KIND, seed: int | None = None
) -> pd.DataFrame:
    """Summarise the posterior predictive of subscriptions and users at ``dates``.

    The quantities are reported subscriptions and unique users; ``dates`` may be any dates
    after launch, up to the horizon. One row per (quantity, date), fields ``JSON_FIELDS``;
    the prior interval comes from the same forecast of the prior draws.
    """
    import copy

    kind = check_kind(kind)
    post = model.forecast(dates, seed=seed)
    prior = prior_dataset(model)
    prior_model = copy.copy(model)
    prior_model.idata = xr.DataTree.from_dict({"posterior": prior})
    prior_fc = prior_model.forecast(dates, seed=seed)
    rows = []
    for name, units in FORECAST_QUANTITIES:
        for date in post["forecast_date"].values:
            day = pd.Timestamp(date).strftime("%Y-%m-%d")
            rows.append(
                summary_row(
                    post[name].sel(forecast_date=date),
                    name,
                    day,
                    units,
                    prob,
                    kind,
                    prior_fc[name].sel(forecast_date=date),
                )
            )
    table = pd.DataFrame(rows, columns=list(JSON_FIELDS))
    table["converged"] = run_converged(model)
    return table


def run_converged(model) -> bool:
    """Return whether a fitted or loaded model passed every convergence check.

    The checks are its diagnostics; for a loaded run these are recomputed from the draws.
    """
    if model.diagnostics is not None:
        return bool(model.diagnostics.converged)
    return bool(_diagnostics(dict(model.idata.attrs)).get("converged", False))


def forecast_markdown(table: pd.DataFrame, attrs: dict) -> str:
    """Render the forecast table in Markdown, MCSE-rounded, with its interval note and run id."""
    human = formatted(table)
    lines = _md_table(list(human.columns), [list(r) for r in human.itertuples(index=False)])
    lines += [
        "",
        table_note(table) + " reported_subscriptions includes the audited-count reporting error.",
        "",
        f"Run {attrs.get('run_id', '?')}, model config "
        f"{attrs.get('config_name', '?')}, data hash {attrs.get('data_hash', '?')}.",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- README headline

HEADLINE_ROWS = (
    ("unique_users", ONE_MILLION_DATE, 'unique users, 2 Feb 2012 ("1 million"), millions'),
    ("unique_users", TWO_MILLION_DATE, 'unique users, 28 May 2013 ("2 million"), millions'),
    ("real_user_share", None, "people per registered SIM (U/S)"),
    ("sims_per_user", None, "registered SIMs per user"),
    ("inactive_share", None, "inactive share of registered numbers"),
    ("official_share", None, "official share of active lines"),
    ("penetration_10plus", TWO_MILLION_DATE, "users / population aged 10+, May 2013"),
    ("user_ceiling", None, "user ceiling, millions"),
)


def headline_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """Return (header, rows) of the README's headline table (``HEADLINE_ROWS``).

    Columns: label, median, interval, prior interval, the structural range (when the report
    has one), what the interval rests on (evidence label and most influential prior), MCSE of
    the median and R-hat; every number MCSE-rounded.
    """
    table, label = report.table.reset_index(drop=True), interval_label(report.prob, report.kind)
    human = formatted(table)
    structural = "structural range" in human
    rows = []
    for name, date, text in HEADLINE_ROWS:
        hit = (table["quantity"] == name) & (
            (table["date"] == date) if date else table["date"].isna()
        )
        if not hit.any():
            continue
        h = human.loc[hit.idxmax()]
        rests = h.get("rests on", "")
        if h.get("most influential prior"):
            rests += f" ({h['most influential prior']})"
        rows.append(
            [
                text,
                h["median"],
                h[label],
                h[f"prior {label}"],
                *([h["structural range"]] if structural else []),
                rests,
                h["MCSE (median)"],
                h["R-hat"],
            ]
        )
    head = [
        "quantity",
        "median",
        label,
        f"prior {label}",
        *(["structural range"] if structural else []),
        "rests on (most influential prior)",
        "MCSE (median)",
        "R-hat",
    ]
    return head, rows


def headline_markdown(report: Report) -> str:
    """Render the README's short headline table in Markdown.

    A subset of the full report, with the key probabilities, the result sentence and the
    run's provenance.
    """
    table = report.table
    lines = _md_table(*headline_rows(report))
    lines += ["", table_note(table), ""]
    lines += [
        f"- {claim}: {p} (MCSE {mcse}; prior {prior}); "
        + (basis if basis.startswith("holds") else f"rests on {basis}")
        for claim, p, mcse, prior, basis in probability_rows(report.probabilities)[:4]
    ]
    a = report.attrs
    lines += [
        "",
        report.sentence(),
        "",
        f"Run `{a.get('run_id', '?')}` (config `{a.get('config_name', '?')}`, seed "
        f"{a.get('seed', '?')}, data hash `{str(a.get('data_hash', ''))[:16]}…`): "
        f"{diagnostics_line(a)}.",
        "",
        f"Cite as: {citation_line(report)}",
    ]
    return "\n".join(lines) + "\n"


def citation_line(report: Report, date: str = TWO_MILLION_DATE) -> str:
    """Return how to quote U at ``date`` in a paper, generated from the report.

    The median and interval with its kind and mass and only the digits the MCSE supports, the
    evidence label, the structural range when the report has one, the package version and run
    id; a warning instead of a citation when the run did not converge.
    """
    table = report.table
    row = table[(table["quantity"] == "unique_users") & (table["date"] == date)]
    if row.empty:
        return ""
    r = row.iloc[0]
    human = formatted(row).iloc[0]
    label = interval_label(r.ci_prob, r.ci_kind)
    parts = [f"{label} {human[label].replace(' – ', '–')} million"]
    if isinstance(r.get("evidence"), str) and r.evidence != "not measured":
        parts.append(f"{r.evidence} by power-scaling")
    if human.get("structural range"):
        low_high, n = human["structural range"].split(" (")
        parts.append(f"{low_high.replace(' – ', '–')} million across {n.rstrip(')')}")
    a = report.attrs
    version = json.loads(a.get("versions_json", "{}") or "{}").get("bayes_koryo", "?")
    parts.append(f"bayes_koryo {version}, run {a.get('run_id', 'not saved')}")
    when = pd.Timestamp(date).strftime("%-d %B %Y")
    text = f"{human['median']} million unique users on {when} ({'; '.join(parts)})"
    if not _diagnostics(a).get("converged", False):
        return f"{text} — this run did not pass the convergence checks: do not cite it"
    return text


__all__ = [
    "CLAIMS",
    "JSON_FIELDS",
    "PRIOR_PROBABILITY_TOLERANCE",
    "PROBABILITY_COLUMNS",
    "PROBABILITY_HEADER",
    "REPORT_FORMATS",
    "SENSITIVITY_COLUMNS",
    "STRUCTURAL_FIELDS",
    "TEXT_FORMATS",
    "Claim",
    "Quantity",
    "Report",
    "basis_text",
    "build_report",
    "citation_line",
    "format_probability",
    "formatted",
    "headline_quantities",
    "probabilities",
    "probability_rows",
    "read_structural_range",
    "render",
    "reported_counts",
    "round_to",
    "rounded",
    "sensitivity_methods",
    "structural_methods",
    "summary_row",
    "supported_decimals",
    "with_sensitivity",
    "with_structural_range",
]
