"""Publication figures of a fitted run (matplotlib, Agg backend; PNG and PDF).

Every plot function takes a fitted or loaded ``KoryoModel``, returns the figure and, with
``return_data=True``, ``(figure, tidy DataFrame behind it)``:

- :func:`trajectory` - U(t) and S(t) with 50% and ``CI_PROB`` intervals and the reported
  figures by kind (rounded figures drawn as their [lower, upper] rounding cells);
- :func:`decomposition` - what the ~2 million subscriptions of May 2013 consist of;
- :func:`prior_posterior` - prior against posterior for every free parameter;
- :func:`predictive_check` - each reported figure against its posterior replicate.

:func:`write_figures` writes all four as PNG and PDF (atomically) and returns the paths.
Intervals are equal-tailed (the package convention, ``report.CI_PROB``/``CI_KIND``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.atomic import atomic_path
from bayes_koryo.inference.summaries import interval_label
from bayes_koryo.outputs.quantities import phones_are_shared
from bayes_koryo.study import CI_KIND, CI_PROB, DECOMPOSITION_DATE

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

INNER_PROB = 0.5
"""Mass of the inner band of the trajectory and predictive figures."""

FIGURES = ("trajectory", "decomposition", "prior_posterior", "predictive_check")
FORMATS = ("png", "pdf")

STYLE: dict[RcKeyType, Any] = {
    "font.family": "serif",
    "font.serif": ["DejaVu Serif"],
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # TrueType in PDFs: editable text, accepted by journals
    "ps.fonttype": 42,
}
"""Publication style: serif 7-9 pt text for a figure printed at 3.5 - 7 inches wide."""

WIDTH_FULL = 7.0
"""Inches: a two-column (full page) figure."""

KIND_STYLE = {
    "audited_quarterly": ("o", "black", "audited quarterly count"),
    "rounded_report": ("s", "C3", "rounded report"),
    "retrospective_statement": ("D", "C4", "retrospective statement"),
    "milestone": ("^", "C2", "milestone"),
    "rounded_statement": ("v", "C5", "rounded statement"),
    "activity_statement": ("P", "C1", "active numbers (statement)"),
}

POSTERIOR_COLOR, PRIOR_COLOR, SUBS_COLOR = "C0", "0.55", "C1"


def _quantiles(da: xr.DataArray, prob: float) -> dict[str, np.ndarray]:
    """Median and the 50% / ``prob`` equal-tailed bounds over (chain, draw)."""
    flat = da.stack(sample=("chain", "draw")).transpose(..., "sample").values
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    q = np.quantile(flat, [lo, 0.25, 0.5, 0.75, hi], axis=-1)
    return {"low": q[0], "low50": q[1], "median": q[2], "high50": q[3], "high": q[4]}


def _millions(x):
    return np.asarray(x, dtype=float) / 1e6


# --------------------------------------------------------------------------- (a) trajectory


def trajectory(model, prob: float = CI_PROB, return_data: bool = False):
    """Plot U(t) (unique users) and S(t) (registered SIMs) with the reported figures.

    The whole horizon on a linear scale (left) and the reporting period on a log scale
    (right), where the rounding cells of rounded figures are visible.
    """
    post = model.idata["posterior"].to_dataset()
    dates = pd.DatetimeIndex(post["date"].values)
    obs = model.observations
    last_obs = pd.Timestamp(obs["date"].max())
    bands = {}
    frames = []
    for name in ("subscriptions", "unique_users"):
        bands[name] = _quantiles(post[name], prob)
        frames.append(pd.DataFrame({"series": name, "date": dates, **bands[name]}))
    for kind in KIND_STYLE:
        rows = obs[obs["kind"] == kind]
        if not rows.empty:
            frames.append(
                pd.DataFrame(
                    {
                        "series": f"reported_{kind}",
                        "date": pd.DatetimeIndex(rows["date"]),
                        "value": _millions(rows["value"]),
                        "cell_low": _millions(rows["lower"]),
                        "cell_high": _millions(rows["upper"]),
                    }
                )
            )
    data = pd.concat(frames, ignore_index=True)
    with plt.rc_context(STYLE):
        fig, (ax, zoom) = plt.subplots(
            1, 2, figsize=(WIDTH_FULL, 3.4), gridspec_kw={"width_ratios": [1.55, 1]}
        )
        window = (dates[0] - pd.Timedelta(days=30), last_obs + pd.Timedelta(days=60))
        for axis, log in ((ax, False), (zoom, True)):
            shown = (dates <= window[1]) if log else np.ones(len(dates), bool)
            for name, color, label in (
                ("subscriptions", SUBS_COLOR, "registered SIMs S(t)"),
                ("unique_users", POSTERIOR_COLOR, "unique users U(t)"),
            ):
                q = {k: v[shown] for k, v in bands[name].items()}
                axis.fill_between(dates[shown], q["low"], q["high"], color=color, alpha=0.18, lw=0)
                axis.fill_between(
                    dates[shown], q["low50"], q["high50"], color=color, alpha=0.4, lw=0
                )
                axis.plot(dates[shown], q["median"], color=color, label=label)
            _reported_points(axis, obs)
            axis.grid(axis="y", lw=0.3, color="0.88")
        ax.axvline(last_obs, color="0.6", lw=0.5, ls=":")
        ax.text(
            last_obs,
            0.02,
            " last reported figure",
            transform=ax.get_xaxis_transform(),
            va="bottom",
            ha="left",
            fontsize=6.5,
            color="0.4",
        )
        ax.set_xlim(window[0], dates[-1])
        ax.set_ylim(0, None)
        ax.set_ylabel("millions (SIMs or people)")
        ax.set_title(
            f"Median, {INNER_PROB:.0%} and {interval_label(prob, CI_KIND)} bands, to the horizon"
        )
        ax.legend(loc="upper left", ncol=1, handlelength=1.5)
        zoom.set_yscale("log")
        zoom.set_xlim(*window)
        zoom.set_ylim(5e-4, 4)
        zoom.set_title("Reporting period (log scale); bars: rounding cells")
        zoom.xaxis.set_major_locator(mdates.YearLocator())
        zoom.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        fig.tight_layout()
    return (fig, data) if return_data else fig


def _reported_points(ax, obs: pd.DataFrame) -> None:
    """Draw the reported figures by kind; figures with a rounding cell as [lower, upper] bars."""
    for kind, (marker, color, label) in KIND_STYLE.items():
        rows = obs[obs["kind"] == kind]
        if rows.empty:
            continue
        has_cell = rows["lower"].notna().to_numpy()
        value = _millions(rows["value"])
        lower, upper = _millions(rows["lower"]), _millions(rows["upper"])
        if has_cell.any():
            ax.vlines(
                rows["date"][has_cell],
                lower[has_cell],
                upper[has_cell],
                color=color,
                lw=2.4,
                zorder=4,
            )
        ax.scatter(
            rows["date"],
            value,
            marker=marker,
            s=11,
            color=color,
            edgecolor="white",
            linewidth=0.3,
            zorder=5,
            label=label,
        )


# --------------------------------------------------------------------------- (b) decomposition

PART_LABELS = {
    "unique_users": "unique users (one SIM each)",
    "extra_sims": "extra SIMs of heavy users",
    "official_lines": "official lines",
    "inactive_numbers": "inactive numbers",
}

HOLDERS_LABEL = "SIM holders (one SIM each)"
"""Label of the first part when phones are shared (the unique users are h times the holders)."""

_PART_COLORS = ("C0", "C9", "C4", "C8")
"""Colours of the parts of the decomposition (``PART_LABELS`` order), in both panels."""


def decomposition(model, prob: float = CI_PROB, return_data: bool = False):
    """Plot what the registered SIMs of May 2013 consist of.

    Users, extra SIMs, official lines and inactive numbers: stacked posterior medians, and
    each part's posterior and prior intervals (the parts are prior-driven except the
    inactive share).
    """
    data = _decomposition_data(model, prob)
    parts = data[data["part"] != "total"]
    with plt.rc_context(STYLE):
        fig, (ax1, ax2) = plt.subplots(
            1, 2, figsize=(WIDTH_FULL, 2.8), gridspec_kw={"width_ratios": [1, 1.5]}
        )
        _stacked_parts(ax1, data, model.observations, prob)
        _part_intervals(ax2, parts, prob)
        fig.tight_layout()
    return (fig, data) if return_data else fig


def _decomposition_data(model, prob: float) -> pd.DataFrame:
    """Return median and bounds of each part and of the total S, with the parts' priors."""
    from bayes_koryo.outputs.report import prior_dataset
    from bayes_koryo.study import DECOMPOSITION_PARTS

    post = model.idata["posterior"].to_dataset()
    prior = prior_dataset(model)
    rows = []
    for part in DECOMPOSITION_PARTS:
        name = f"decomposition_{part}"
        q = {k: float(v) for k, v in _quantiles(post[name], prob).items()}
        pq = _quantiles(prior[name], prob) if name in prior else None
        rows.append(
            {
                "part": part,
                "label": HOLDERS_LABEL
                if part == "unique_users" and phones_are_shared(post)
                else PART_LABELS[part],
                **q,
                "prior_low": float(pq["low"]) if pq else np.nan,
                "prior_high": float(pq["high"]) if pq else np.nan,
            }
        )
    total = _quantiles(post["subscriptions"].sel(date=DECOMPOSITION_DATE), prob)
    rows.append(
        {
            "part": "total",
            "label": "registered SIMs S (total)",
            **{k: float(v) for k, v in total.items()},
            "prior_low": np.nan,
            "prior_high": np.nan,
        }
    )
    return pd.DataFrame(rows)


def _stacked_parts(ax1: Axes, data: pd.DataFrame, reported: pd.DataFrame, prob: float) -> None:
    """Draw the left panel: the parts' stacked medians, the total S and the reported figure."""
    parts = data[data["part"] != "total"]
    left = 0.0
    t = data[data["part"] == "total"].iloc[0]
    for (_, r), color in zip(parts.iterrows(), _PART_COLORS, strict=True):
        ax1.barh(
            0,
            r["median"],
            left=left,
            color=color,
            edgecolor="white",
            height=0.55,
            label=r["label"],
        )
        if r["median"] > 0.08 * max(t["high"], 1.0):
            ax1.text(
                left + r["median"] / 2,
                0,
                f"{r['median']:.2f}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="white",
            )
        left += r["median"]
    ax1.errorbar(
        t["median"],
        -0.55,
        xerr=[[t["median"] - t["low"]], [t["high"] - t["median"]]],
        fmt="o",
        color="k",
        ms=3,
        capsize=2,
        lw=0.8,
    )
    ax1.text(
        t["low"] - 0.04,
        -0.55,
        f"total S: median {t['median']:.2f},\n"
        f"{interval_label(prob)} {t['low']:.2f}–{t['high']:.2f}",
        ha="right",
        va="center",
        fontsize=6.5,
    )
    may = reported[
        (reported["date"] == pd.Timestamp(DECOMPOSITION_DATE)) & reported["lower"].notna()
    ]
    if not may.empty:
        lo, hi = may["lower"].iloc[0] / 1e6, may["upper"].iloc[0] / 1e6
        ax1.axvspan(lo, hi, color="k", alpha=0.08, lw=0)
        ax1.text(
            (lo + hi) / 2,
            0.45,
            f"reported\n{may['value'].iloc[0] / 1e6:g} million",
            ha="center",
            va="bottom",
            fontsize=6.5,
        )
    ax1.set_ylim(-1.2, 0.9)
    ax1.set_yticks([])
    ax1.spines["left"].set_visible(False)
    ax1.set_xlim(0, max(t["high"], left) * 1.05)
    ax1.set_xlabel("million SIMs, 28 May 2013")
    ax1.set_title("Posterior medians, stacked (colours as right)")


def _part_intervals(ax2: Axes, parts: pd.DataFrame, prob: float) -> None:
    """Draw the right panel: each part's posterior and prior intervals."""
    y = np.arange(len(parts))[::-1]
    for yi, (_, r), color in zip(y, parts.iterrows(), _PART_COLORS, strict=True):
        ax2.plot(
            [r["prior_low"], r["prior_high"]],
            [yi - 0.22] * 2,
            color=PRIOR_COLOR,
            lw=1.2,
            solid_capstyle="butt",
        )
        ax2.plot([r["low"], r["high"]], [yi] * 2, color=color, lw=1.2)
        ax2.plot([r["low50"], r["high50"]], [yi] * 2, color=color, lw=3.5, solid_capstyle="butt")
        ax2.plot(r["median"], yi, "o", color="white", mec=color, ms=4)
    ax2.plot([], [], color="0.2", lw=1.2, label=f"posterior {interval_label(prob)}")
    ax2.plot([], [], color="0.2", lw=3.5, label=f"posterior {INNER_PROB:.0%} ETI")
    ax2.plot([], [], color=PRIOR_COLOR, lw=1.2, label=f"prior {interval_label(prob)}")
    ax2.set_yticks(y, parts["label"])
    ax2.set_xlabel("million SIMs, 28 May 2013")
    ax2.set_xlim(0, None)
    ax2.set_title("Each part: posterior and prior intervals")
    ax2.legend(loc="upper center", bbox_to_anchor=(0.45, -0.2), ncol=3)
    ax2.grid(axis="x", lw=0.3, color="0.85")


# --------------------------------------------------------------------------- (c) prior vs posterior


def prior_posterior(model, prob: float = CI_PROB, return_data: bool = False):
    """Plot the prior (grey) against the posterior (blue) density of every free parameter.

    Each panel shows the contraction 1 - var(posterior) / var(prior).
    """
    from bayes_koryo.model.graph import free_parameters
    from bayes_koryo.outputs.report import prior_dataset

    post = model.idata["posterior"].to_dataset()
    prior = prior_dataset(model)
    names = [n for n in free_parameters(model.config) if n in post and n in prior]
    ncol = 4
    nrow = int(np.ceil(len(names) / ncol))
    rows = []
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH_FULL, 1.45 * nrow + 0.4))
        for ax, name in zip(axes.ravel(), names, strict=False):
            a = prior[name].values.ravel()
            b = post[name].values.ravel()
            lo, hi = np.quantile(np.concatenate([a, b]), [0.002, 0.998])
            bins = np.linspace(lo, hi, 45)
            ax.hist(a, bins=bins, density=True, color=PRIOR_COLOR, alpha=0.45, lw=0)
            ax.hist(b, bins=bins, density=True, histtype="step", color=POSTERIOR_COLOR, lw=1)
            contraction = 1 - np.var(b) / np.var(a)
            ax.set_title(name, fontsize=7.5)
            ax.text(
                0.98,
                0.95,
                f"contraction\n{contraction:.2f}",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=6,
            )
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
            ax.tick_params(axis="x", labelsize=6)
            for source, draws in (("prior", a), ("posterior", b)):
                qlo, med, qhi = np.quantile(draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
                rows.append(
                    {
                        "parameter": name,
                        "source": source,
                        "median": med,
                        "low": qlo,
                        "high": qhi,
                        "ci_prob": prob,
                        "ci_kind": "ETI",
                        "contraction": contraction,
                    }
                )
        for ax in axes.ravel()[len(names) :]:
            ax.set_visible(False)
        handles = [
            plt.Rectangle((0, 0), 1, 1, color=PRIOR_COLOR, alpha=0.45),
            plt.Line2D([], [], color=POSTERIOR_COLOR),
        ]
        fig.legend(handles, ["prior", "posterior"], loc="upper right", ncol=2)
        fig.suptitle("Prior and posterior of every free parameter", x=0.02, ha="left", fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.97))
    data = pd.DataFrame(rows)
    return (fig, data) if return_data else fig


# --------------------------------------------------------------------------- (d) predictive check


def predictive_check(model, return_data: bool = False):
    """Plot every reported figure against its posterior predictive replicate.

    Each figure (or its rounding cell) against the 50% and 90% intervals of its replicate,
    as ratios to the replicate's median.
    """
    from bayes_koryo.inference.checks import posterior_predictive_table

    if "posterior_predictive" not in model.idata.children:
        model.sample_posterior_predictive()
    table = posterior_predictive_table(model).sort_values("date", kind="stable")
    table = table.reset_index(drop=True)
    med = table["pp_median"]
    y = np.arange(len(table))[::-1]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_FULL * 0.75, 0.19 * len(table) + 1.6))
        ax.hlines(
            y,
            table["pp_90_low"] / med,
            table["pp_90_high"] / med,
            color=POSTERIOR_COLOR,
            lw=1,
            label="replicate 90% ETI",
        )
        ax.hlines(
            y,
            table["pp_50_low"] / med,
            table["pp_50_high"] / med,
            color=POSTERIOR_COLOR,
            lw=3.5,
            label="replicate 50% ETI",
        )
        for kind, (marker, color, label) in KIND_STYLE.items():
            sel = (table["kind"] == kind).to_numpy()
            if not sel.any():
                continue
            cell = table["cell_low"].notna().to_numpy() & sel
            if cell.any():
                ax.hlines(
                    y[cell] - 0.28,
                    table["cell_low"][cell] / med[cell],
                    table["cell_high"][cell] / med[cell],
                    color=color,
                    lw=1.6,
                    zorder=3,
                )
            ax.scatter(
                table["reported"][sel] / med[sel],
                y[sel],
                marker=marker,
                color=color,
                s=14,
                zorder=4,
                label=label + (", with cell" if cell.any() else ""),
            )
        ax.axvline(1.0, color="0.6", lw=0.5, ls=":")
        ax.set_yticks(
            y,
            [
                f"{d}  {k.replace('_', ' ')}"
                for d, k in zip(table["date"], table["kind"], strict=True)
            ],
            fontsize=6.5,
        )
        ax.set_xlabel("reported / replicate median")
        ax.set_title(
            f"Posterior predictive check: {int(table['inside_90'].sum())} of "
            f"{len(table)} figures inside their replicate's 90% ETI"
        )
        ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.12), ncol=3)
        fig.tight_layout()
    return (fig, table) if return_data else fig


# --------------------------------------------------------------------------- writing


def save_figure(fig, path: Path) -> Path:
    """Save ``fig`` to ``path`` atomically (``bayes_koryo.atomic``; format from the suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp, plt.rc_context(STYLE):
        fig.savefig(tmp, format=path.suffix.lstrip("."))
    return path


def write_figures(model, out_dir, prefix: str = "", formats=FORMATS) -> list[Path]:
    """Write the four figures to ``out_dir`` as ``{prefix}{name}.{png,pdf}``; returns paths."""
    makers: dict[str, Callable[[Any], Figure]] = {
        "trajectory": trajectory,
        "decomposition": decomposition,
        "prior_posterior": prior_posterior,
        "predictive_check": predictive_check,
    }
    return save_figures(makers, model, out_dir, prefix, formats)


def save_figures(
    makers: dict[str, Callable[[Any], Figure]], model, out_dir, prefix: str = "", formats=FORMATS
) -> list[Path]:
    """Draw each figure of ``makers`` (name: function of the model) and save it atomically.

    Files are ``out_dir/{prefix}{name}.{format}``; each figure is closed once saved. Returns
    the paths written, in the order of ``makers``.
    """
    out_dir = Path(out_dir)
    written = []
    for name, make in makers.items():
        fig = make(model)
        try:
            for fmt in formats:
                written.append(save_figure(fig, out_dir / f"{prefix}{name}.{fmt}"))
        finally:
            plt.close(fig)
    return written
