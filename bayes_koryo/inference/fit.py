"""Fitting: the ``KoryoModel`` class (build, fit, predict, forecast, save, load).

``KoryoModel`` wraps ``build_model``: it compiles the model once with nutpie and reuses the
compiled model for every refit with new observation values or new prior hyperparameters
(``set_observations`` / ``set_priors``), which only swap ``pm.Data`` values.

After sampling it computes the derived quantities, the ``log_likelihood`` and ``log_prior``
groups (nutpie stores neither; ``bayes_koryo.inference.postprocess`` compiles their functions
once per structure, like the nutpie model), and the diagnostics.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_koryo.data import check_observation_frame, load_observations
from bayes_koryo.errors import MESSAGE_LIMIT, ConfigError, KoryoError, ResultFileError, one_line
from bayes_koryo.inference import postprocess
from bayes_koryo.inference.diagnostics import Diagnostics, diagnose
from bayes_koryo.inference.runs import read_run, save_run
from bayes_koryo.model.config import ModelConfig, default_config, load_config
from bayes_koryo.model.graph import (
    OBSERVATION_TABLE,
    build_model,
    observation_blocks,
    observation_table,
    time_grid,
    years_since,
)
from bayes_koryo.model.growth import GROWTH_PARAMETERS, log_adopted_fraction
from bayes_koryo.model.numerics import use_reproducible_numerics
from bayes_koryo.model.priors import HYPERPARAMETER_DATA, hyperparameter_values

SAMPLER = "nutpie"
_COMPILED: dict[str, object] = {}
"""Compiled models of this process, by structure key (compile once, fit many)."""
NON_NUMERIC_STATS = ("divergence_message",)


def as_config(config) -> ModelConfig:
    """Return ``config`` as a ModelConfig: the defaults for None, else load a TOML path."""
    if config is None:
        return default_config()
    if isinstance(config, ModelConfig):
        return config
    return load_config(config)


def observation_layout(
    config: ModelConfig, observations: pd.DataFrame
) -> tuple[pd.DatetimeIndex, list, list]:
    """Return (time grid, observation blocks, block layout) of ``observations`` under ``config``.

    The layout lists each block's kind, dates and whether its figures are intervals: what the
    compiled code depends on besides the config.
    """
    grid = time_grid(config, observations["date"])
    blocks = observation_blocks(observations, config, grid)
    layout = [(b.kind, [str(d) for d in b.dates], b.is_interval) for b in blocks]
    return grid, blocks, layout


def structure_key(config: ModelConfig, observations: pd.DataFrame) -> str:
    """Return the key of what compiled code depends on, as JSON text.

    The key holds the growth form, sampler coordinates, prior families, kinds, grid and
    observation layout: models with equal keys share one compiled model, and sweeps send
    tasks with equal keys to few worker processes. The one structure key of the package.
    """
    grid, _, layout = observation_layout(config, observations)
    return json.dumps(
        {
            "growth": config.growth_form,
            "activity_depressed": config.activity_depressed,
            "shared_phones": config.shared_phones,
            "ceiling_prior": config.ceiling_prior,
            "composition": config.composition,
            "coordinates": config.sampler.coordinates,
            "pace_centring": config.sampler.pace_centring,
            "priors": {n: p.dist for n, p in sorted(config.priors.items())},
            "grid": [str(d) for d in grid],
            "blocks": layout,
        },
        sort_keys=True,
    )


class KoryoModel:
    """The unique-users model for one config and one set of observations.

    Parameters
    ----------
    config : ModelConfig, path to a model TOML, or None for the baseline defaults.
    observations : DataFrame from ``bayes_koryo.data.load_observations`` (default: bundled).
    """

    def __init__(self, config=None, observations: pd.DataFrame | None = None):
        self.config = as_config(config)
        self.observations = load_observations() if observations is None else observations
        self.model = build_model(self.observations, self.config)
        check_initial_point(self.model, self.config)
        self.idata: xr.DataTree | None = None
        self.diagnostics: Diagnostics | None = None
        self._compiled = None
        self.compile_seconds: float | None = None

    # ------------------------------------------------------------------ compile-once data swap
    def _data_values(self) -> dict[str, np.ndarray]:
        """Return the current values of the model's pm.Data containers.

        These are the observations and the prior hyperparameters.
        """
        return {
            name: var.get_value()
            for name, var in self.model.named_vars.items()
            if hasattr(var, "get_value")
        }

    def _layout(self, observations: pd.DataFrame) -> tuple[pd.DatetimeIndex, list, list]:
        """Return (grid, blocks, block layout) of ``observations`` under this config."""
        return observation_layout(self.config, observations)

    def set_observations(self, observations: pd.DataFrame) -> None:
        """Swap in new observation values with the same layout (dates, kinds, bounds)."""
        check_observation_frame(observations)
        grid, blocks, layout = self._layout(observations)
        old_grid, _, old_layout = self._layout(self.observations)
        if not grid.equals(old_grid) or layout != old_layout:
            raise ConfigError(
                "set_observations: the new observations differ in dates or kinds; "
                "build a new KoryoModel for them"
            )
        self._update_data({OBSERVATION_TABLE: observation_table(blocks, self.config)})
        self.observations = observations

    def set_priors(self, priors: dict[str, dict[str, float]]) -> None:
        """Change prior hyperparameters (same families) without recompiling."""
        new_config = self.config.replace(priors=priors)
        for name, spec in priors.items():
            if spec.get("dist", self.config.priors[name].dist) != self.config.priors[name].dist:
                raise ConfigError(f"set_priors: {name} changes family; build a new KoryoModel")
        self._update_data({HYPERPARAMETER_DATA: hyperparameter_values(new_config.priors)})
        self.config = new_config

    def _update_data(self, updates: dict) -> None:
        with self.model:
            pm.set_data(updates)
        if self._compiled is not None:
            self._compiled = self._compiled.with_data(**_known_to(self._compiled, updates))
        self.idata, self.diagnostics = None, None

    # ------------------------------------------------------------------ sampling
    def structure_key(self) -> str:
        """Return :func:`structure_key` of this model's config and observations."""
        return structure_key(self.config, self.observations)

    def compiled(self):
        """Return the nutpie-compiled model with this model's data and prior values.

        Compiled once per structure (``structure_key``) and process; every other model of
        the same structure reuses the compiled code with its own values swapped in.
        """
        if self._compiled is None:
            key = self.structure_key()
            base = _COMPILED.get(key)
            if base is None:
                import nutpie

                use_reproducible_numerics()
                start = time.perf_counter()
                base = nutpie.compile_pymc_model(
                    self.model, var_names=[v.name for v in self.model.free_RVs]
                )
                self.compile_seconds = time.perf_counter() - start
                _COMPILED[key] = base
            else:
                self.compile_seconds = 0.0
            self._compiled = dataclasses.replace(
                base.with_data(**_known_to(base, self._data_values())),
                initial_point_func=self._initial_point_func(base),
            )
        return self._compiled

    def _initial_point_func(self, base):
        """Build nutpie's initial-point function on this model's own graph.

        The function returns jittered support points in unconstrained space, as one flat
        array. The compiled model of the structure keeps the function of the model it was
        compiled from, whose pm.Data - the prior values - ``with_data`` does not reach: without
        this, the starting points and hence the draws of a fit would depend on which model of
        the structure this process compiled first.
        """
        from nutpie.compile_pymc import _rv_dict_to_flat_array_wrapper, _wrap_with_lock
        from pymc.initial_point import make_initial_point_fn

        point_fn = make_initial_point_fn(
            model=self.model,
            default_strategy="support_point",
            jitter_rvs=set(self.model.free_RVs),
            return_transformed=True,
        )
        names = [self.model.rvs_to_values[rv].name for rv in self.model.free_RVs]
        point = point_fn(0)
        shapes = [tuple(np.shape(point[name])) for name in names]
        if sum(math.prod(shape) for shape in shapes) != base.n_dim:
            raise RuntimeError(
                f"initial point of {self.config.name!r} does not match the "
                "compiled model's dimension"
            )
        return _wrap_with_lock(_rv_dict_to_flat_array_wrapper(point_fn, names=names, shapes=shapes))

    def fit(
        self,
        seed: int | None = None,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        progress: bool = False,
        log_densities: bool = True,
    ) -> xr.DataTree:
        """Sample the posterior with nutpie; returns (and keeps) the full DataTree.

        ``log_densities=False`` skips the ``log_likelihood`` and ``log_prior`` groups (each
        needs a compiled pytensor function, ~20 s the first time per structure and process, then
        ~1 s per 4000 draws): for sweeps that do not need them.
        """
        import nutpie

        s = self.config.sampler
        seed = s.seed if seed is None else int(seed)
        n_chains = chains or s.chains
        settings = {
            "draws": draws or s.draws,
            "tune": tune or s.tune,
            "chains": n_chains,
            "target_accept": s.target_accept,
            "adaptation": s.adaptation,
            "maxdepth": s.max_tree_depth,
        }
        compiled = self.compiled()
        start = time.perf_counter()
        trace = nutpie.sample(
            compiled,
            seed=seed,
            progress_bar=progress,
            save_warmup=False,
            cores=min(n_chains, _cpu_count()),
            **settings,
        )
        sampling_seconds = time.perf_counter() - start
        self.idata = self._complete(trace, seed, settings, sampling_seconds, log_densities)
        self.diagnostics = diagnose(self.idata, self.config)
        return self.idata

    def _complete(
        self, trace, seed, settings, sampling_seconds, log_densities: bool = True
    ) -> xr.DataTree:
        posterior = trace["posterior"].to_dataset()
        derived = postprocess.derived_quantities(self, posterior)  # compiled once per structure
        posterior = xr.merge([posterior, derived], compat="override", join="exact")
        stats = (
            trace["sample_stats"]
            .to_dataset()
            .drop_vars([v for v in NON_NUMERIC_STATS if v in trace["sample_stats"]])
        )
        tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
        if log_densities:
            log_lik, log_prior = postprocess.log_densities(self, posterior)
            tree["log_likelihood"] = xr.DataTree(log_lik)
            tree["log_prior"] = xr.DataTree(log_prior)
        tree["observed_data"] = xr.DataTree(self._observed_dataset())
        tree.attrs.update(
            {
                "seed": int(seed),
                "sampler": SAMPLER,
                "draws": settings["draws"],
                "tune": settings["tune"],
                "chains": settings["chains"],
                "target_accept": settings["target_accept"],
                "adaptation": settings["adaptation"],
                "max_tree_depth": settings["maxdepth"],
                "sampling_seconds": float(sampling_seconds),
            }
        )
        return tree

    def _observed_dataset(self) -> xr.Dataset:
        """Observed (log-scale) values of every likelihood term, as fitted."""
        data = {}
        for rv in self.model.observed_RVs:
            value = self.model.rvs_to_values[rv]
            array = value.eval()  # a slice of the observation table
            dims = self.model.named_vars_to_dims.get(rv.name)
            data[rv.name] = xr.DataArray(
                np.asarray(array),
                dims=dims,
                coords={d: np.asarray(self.model.coords[d]) for d in dims or ()},
            )
        return xr.Dataset(data)

    def forecast(self, dates, seed: int | None = None) -> xr.Dataset:
        """Posterior draws of unique users and reported subscriptions at any ``dates``.

        Dates must lie between launch and the horizon. The diffusion clock and the coverage
        path are interpolated linearly between grid points (the pace is constant within a
        grid interval); ``reported_subscriptions`` adds the audited-count reporting error.
        Returns a Dataset with dims (chain, draw, forecast_date); counts in millions.
        """
        if self.idata is None:
            raise ConfigError("forecast: fit the model first")
        dates = pd.DatetimeIndex(pd.to_datetime(list(dates)))
        launch, horizon = pd.Timestamp(self.config.launch), pd.Timestamp(self.config.horizon)
        outside = [d.date().isoformat() for d in dates if not launch < d <= horizon]
        if outside:
            raise ConfigError(
                f"forecast: dates {', '.join(outside)} are outside the model's "
                f"window ({self.config.launch}, {self.config.horizon}]"
            )
        post = self.idata["posterior"].to_dataset()
        grid = np.concatenate(
            [[0.0], years_since(self.config.launch, pd.DatetimeIndex(post["date"].values))]
        )
        at = years_since(self.config.launch, dates)
        clock = np.concatenate(
            [np.zeros((*post["effective_clock"].shape[:2], 1)), post["effective_clock"].values],
            axis=-1,
        )
        coverage = np.concatenate(
            [post["coverage_at_launch"].values[..., None], post["population_coverage"].values],
            axis=-1,
        )

        def interp(values):
            return np.apply_along_axis(lambda row: np.interp(at, grid, row), -1, values)

        params = {
            name: post[name].values[..., None]
            for name in GROWTH_PARAMETERS[self.config.growth_form]
        }
        log_f = log_adopted_fraction(self.config.growth_form, interp(clock), params)
        users = post["user_ceiling"].values[..., None] * interp(coverage) * np.exp(log_f)
        rng = np.random.default_rng(self.config.sampler.seed if seed is None else int(seed))
        noise = rng.normal(0.0, self.config.log_sd["audited_quarterly"], size=users.shape)
        reported = users * post["sims_per_user"].values[..., None] * np.exp(noise)
        dims = ("chain", "draw", "forecast_date")
        coords = {"chain": post["chain"], "draw": post["draw"], "forecast_date": dates}
        return xr.Dataset(
            {"unique_users": (dims, users), "reported_subscriptions": (dims, reported)},
            coords=coords,
        )

    def save(self, path, overwrite: bool = False):
        """Write the fitted run to one netCDF file (atomic; see ``bayes_koryo.inference.runs``)."""
        return save_run(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path) -> KoryoModel:
        """Read a run saved by ``save``; refuses foreign, damaged or incompatible files."""
        return load_run(path)

    def sample_prior_predictive(self, draws: int = 2000, seed: int | None = None) -> xr.DataTree:
        """Prior and prior-predictive draws of every parameter, derived and observed quantity.

        When the model has been fitted, the ``prior`` and ``prior_predictive`` groups are also
        added to ``self.idata`` (reports put prior intervals beside posterior ones).
        """
        seed = self.config.sampler.seed if seed is None else int(seed)
        with self.model:
            prior = pm.sample_prior_predictive(draws=draws, random_seed=seed)
        prior.attrs["seed"] = seed
        if self.idata is not None:
            for group in ("prior", "prior_predictive"):
                self.idata[group] = prior[group]
            self.idata.attrs["prior_seed"] = seed
        return prior

    def sample_posterior_predictive(self, seed: int | None = None) -> xr.DataTree:
        """Add replicated reported figures to ``self.idata`` and return it.

        The ``posterior_predictive`` group gets one variable per kind of figure (log scale, as
        fitted) and ``reported_subscriptions`` on the whole grid (millions; the latent count
        with the audited-count reporting error).
        """
        if self.idata is None:
            raise ConfigError("sample_posterior_predictive: fit the model first")
        seed = self.config.sampler.seed if seed is None else int(seed)
        with self.model:
            pp = pm.sample_posterior_predictive(
                self.idata,
                random_seed=seed,
                progressbar=False,
                var_names=[rv.name for rv in self.model.observed_RVs],
                # the posterior draws are the parameters: never resample them, even though
                # the run file does not carry the pm.Data values they were fitted with
                freeze_vars=[rv.name for rv in self.model.free_RVs],
            )
        replicated = pp["posterior_predictive"].to_dataset()
        grid_dates = pd.DatetimeIndex(self.idata["posterior"]["date"].values)
        reported = self.forecast(grid_dates, seed=seed)["reported_subscriptions"]
        replicated["reported_subscriptions"] = reported.rename(forecast_date="date")
        self.idata["posterior_predictive"] = xr.DataTree(replicated)
        return self.idata


def check_initial_point(model: pm.Model, config: ModelConfig) -> None:
    """Raise ConfigError unless every log density term is finite at the initial point.

    Runs right after ``build_model``, before the (slow) nutpie compilation, with a cheaply
    compiled pytensor function: priors that are valid one by one can still jointly describe
    an impossible state (more children than people, say), which would only surface as a
    sampler failure. The message names the terms and the derived quantities at fault.
    """
    logps = model.point_logps(mode="FAST_COMPILE", round_vals=6)
    bad = [name for name, value in logps.items() if not np.all(np.isfinite(value))]
    if not bad:
        return
    scalars = [v for v in model.deterministics if v.ndim == 0]
    values = model.compile_fn(
        model.replace_rvs_by_values(scalars),
        inputs=model.value_vars,
        mode="FAST_COMPILE",
        on_unused_input="ignore",
        point_fn=True,
    )(model.initial_point())
    # finite impossible values (a negative population) are causes, NaNs their consequences
    impossible = [
        f"{v.name} = {float(x):.3g}"
        for v, x in sorted(zip(scalars, values, strict=True), key=lambda p: bool(np.isnan(p[1])))
        if not (np.isfinite(x) and x > 0)
    ]
    hint = f"; at the priors' initial point {', '.join(impossible[:3])}" if impossible else ""
    raise ConfigError(
        f"config {config.name!r}: the log density is not finite at the model's initial point "
        f"for {', '.join(bad)}{hint}: check the priors of these quantities"
    )


def _known_to(compiled, values: dict) -> dict:
    """Return the entries of ``values`` that the compiled logp uses.

    Nutpie drops the others, such as the observed values of interval likelihoods, which only
    their bounds enter.
    """
    known = {var.name for var in compiled.shared_var_keys}
    return {name: value for name, value in values.items() if name in known}


def _cpu_count() -> int:
    """Return the number of CPUs this process may use."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    count = os.cpu_count()
    if count is None:
        raise RuntimeError("fit: cannot determine the number of CPUs of this machine")
    return count


__all__ = ["KoryoModel", "as_config", "load_run", "observation_layout", "structure_key"]


def load_run(path: str | Path) -> KoryoModel:
    """Read a saved run and rebuild its fitted KoryoModel.

    The file is verified by :func:`~bayes_koryo.inference.runs.read_run`; the model gets its
    config, observations, posterior and diagnostics back.
    """
    saved = read_run(path)
    try:
        model = KoryoModel(saved.config, saved.observations)
    except KoryoError as exc:
        raise ResultFileError(
            f"{path}: the stored config and data do not build a model "
            f"({one_line(exc, MESSAGE_LIMIT)})"
        ) from None
    model.idata = saved.tree
    try:
        model.diagnostics = diagnose(saved.tree, saved.config)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ResultFileError(
            f"{path}: the posterior does not match the model "
            f"({type(exc).__name__}: {one_line(exc, MESSAGE_LIMIT)})"
        ) from None
    return model
