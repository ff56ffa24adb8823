"""Model configurations: defaults in code, TOML overrides, validation before any compilation.

A model config (``models/*.toml``) may set::

    name, description, extends            # extends: another TOML, relative to this file
    [growth]        form = "bass" | "logistic" | "gompertz"
    [time]          launch = "2008-12-15", horizon = "2016-12-31"
    [observations]  kinds = [...], activity_depressed = false
    [structure]     shared_phones = false   # true: a SIM holder's phone serves h >= 1 people
                    ceiling_prior = "users" | "subscriptions"   # which ceiling has the prior
                    composition = "constant" | "access_cohorts"  # composition over time
    [observations.log_sd]   <kind> = sd of the log-scale reporting error
    [priors.<variable>]     dist = "...", <hyperparameter> = value
    [sampler]       draws, tune, chains, seed, target_accept, adaptation,
                    max_tree_depth, coordinates, pace_centring

User values merge over the defaults (``defaults | user``, per table). The resolved config is
a frozen ``ModelConfig``; ``to_dict()`` gives back plain data for JSON/TOML round trips.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bayes_koryo.errors import ConfigError, did_you_mean
from bayes_koryo.model.growth import GROWTH_FORMS
from bayes_koryo.model.priors import DEFAULT_PRIORS, Prior
from bayes_koryo.study import KINDS, KORYOLINK_LAUNCH, PACKAGE_SEED, PRODUCTION_DRAWS

CEILING_PRIORS = ("users", "subscriptions")
"""Which ceiling carries the prior: the user ceiling (as ``ceiling_share`` of the addressable
population; the subscription ceiling derived) or the subscription ceiling
(``subscription_ceiling``, millions of SIMs; the user ceiling derived)."""

COMPOSITIONS = ("constant", "access_cohorts")
"""How the subscribers' composition evolves: one composition throughout (``constant``), or
an early one (``early_heavy_user_share``, ``early_official_share``) for the SIMs registered
before access opened to the public and the later one for those registered after
(``access_cohorts``)."""

DEFAULTS: dict[str, Any] = {
    "name": "baseline",
    "description": "",
    "growth": {"form": "bass"},
    "time": {"launch": KORYOLINK_LAUNCH.isoformat(), "horizon": "2016-12-31"},
    "observations": {
        "kinds": list(KINDS),
        "activity_depressed": False,
        # sd of the log-scale reporting error (edge softness for interval statements):
        "log_sd": {
            # Orascom's audited counts: precise to ~1-2% (definitions, cut-off dates).
            "audited_quarterly": 0.015,
            # 'over 809,000' from the Q3-2011 release: cell edges are exact, date is exact.
            "rounded_report": 0.01,
            # a round figure recalled a year later: date and cell both vague.
            "retrospective_statement": 0.03,
            # threshold announcements: the crossing date is known to within weeks.
            "milestone": 0.01,
            # interview statements: interview dates approximate (+-2 weeks at ~5%/month growth).
            "rounded_statement": 0.025,
            # 800k active at 1M: activity window undefined.
            "activity_statement": 0.03,
        },
    },
    # false: every user holds a SIM (U <= S); true: each private SIM holder's phone is used by
    # h = 1 + extra_users_per_holder people, so users may exceed SIMs (MODEL.md, "Shared phones")
    # "users": the prior is on the user ceiling's share of the addressable population
    # (ceiling_share) and the subscription ceiling is derived; "subscriptions": the prior is
    # on the subscription ceiling itself (the experts' figures count subscriptions) and the
    # user ceiling is derived (MODEL.md, "Which ceiling carries the prior")
    # "constant": one composition (pi, m, omega, iota) from 2008 on; "access_cohorts": the SIMs
    # registered before access opened keep an early composition (more heavy users, more
    # official lines), those registered after have the later one (MODEL.md, "Composition")
    "structure": {"shared_phones": False, "ceiling_prior": "users", "composition": "constant"},
    "priors": {name: prior.to_dict() for name, prior in DEFAULT_PRIORS.items()},
    "sampler": {
        **PRODUCTION_DRAWS,
        "seed": PACKAGE_SEED,
        # 0.95: with the pinned coordinates the adapted step size at 0.9 left 1-2 divergent
        # transitions in 3 of 4 seeds; 0.95 left none (BENCHMARKS.md, "Sampler coordinates")
        "target_accept": 0.95,
        # nutpie mass-matrix adaptation: "diag" or "low_rank" (captures correlations)
        "adaptation": "diag",
        # NUTS doubles a trajectory at most this many times; 12 (4096 steps) lets the rare
        # long trajectory of this model finish instead of being truncated at 10
        "max_tree_depth": 12,
        # the sampler's coordinates for the ceiling and the Bass innovation rate: "pinned"
        # (log subscription ceiling and log of ceiling x innovation rate, the directions the
        # reported figures determine) or "original" (ceiling_share, innovation_rate). Same
        # prior and posterior (bayes_koryo.model.graph, COORDINATES); "pinned" mixes faster.
        "coordinates": "pinned",
        # exponent c of the observed periods' pace deviations (a change of coordinates, not of
        # the prior): the sampler moves w ~ Normal(0, sd^c) and the deviation is sd^(1-c) w.
        # 1: centred (the deviation itself); 0: non-centred (a standard-normal innovation);
        # in between: partially non-centred (Papaspiliopoulos, Roberts & Skold 2007)
        "pace_centring": 1.0,
    },
}

_SECTIONS: dict[str, type] = {
    "name": str,
    "description": str,
    "extends": str,
    "growth": dict,
    "time": dict,
    "observations": dict,
    "structure": dict,
    "priors": dict,
    "sampler": dict,
}
_SUBKEYS: dict[str, dict[str, type]] = {
    "growth": {"form": str},
    "time": {"launch": str, "horizon": str},
    "observations": {"kinds": list, "activity_depressed": bool, "log_sd": dict},
    "structure": {"shared_phones": bool, "ceiling_prior": str, "composition": str},
    "sampler": {
        "draws": int,
        "tune": int,
        "chains": int,
        "seed": int,
        "target_accept": float,
        "adaptation": str,
        "max_tree_depth": int,
        "coordinates": str,
        "pace_centring": float,
    },
}

_SAMPLER_DEFAULTS = DEFAULTS["sampler"]


@dataclass(frozen=True)
class SamplerSettings:
    """Sampler settings of a fit; the defaults are ``DEFAULTS["sampler"]``."""

    draws: int = _SAMPLER_DEFAULTS["draws"]
    tune: int = _SAMPLER_DEFAULTS["tune"]
    chains: int = _SAMPLER_DEFAULTS["chains"]
    seed: int = _SAMPLER_DEFAULTS["seed"]
    target_accept: float = _SAMPLER_DEFAULTS["target_accept"]
    adaptation: str = _SAMPLER_DEFAULTS["adaptation"]
    max_tree_depth: int = _SAMPLER_DEFAULTS["max_tree_depth"]
    coordinates: str = _SAMPLER_DEFAULTS["coordinates"]
    pace_centring: float = _SAMPLER_DEFAULTS["pace_centring"]


ADAPTATIONS = ("diag", "low_rank")
COORDINATES = ("pinned", "original")
"""Sampler coordinates of the model (``sampler.coordinates``; see ``bayes_koryo.model.graph``)."""


@dataclass(frozen=True)
class ModelConfig:
    """A resolved, validated model configuration (see module docstring)."""

    name: str
    description: str
    growth_form: str
    launch: dt.date
    horizon: dt.date
    kinds: tuple[str, ...]
    activity_depressed: bool
    log_sd: dict[str, float]
    priors: dict[str, Prior]
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    shared_phones: bool = False
    ceiling_prior: str = "users"
    composition: str = "constant"

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (the TOML layout, every default filled in)."""
        return {
            "name": self.name,
            "description": self.description,
            "growth": {"form": self.growth_form},
            "time": {"launch": self.launch.isoformat(), "horizon": self.horizon.isoformat()},
            "observations": {
                "kinds": list(self.kinds),
                "activity_depressed": self.activity_depressed,
                "log_sd": dict(self.log_sd),
            },
            "structure": {
                "shared_phones": self.shared_phones,
                "ceiling_prior": self.ceiling_prior,
                "composition": self.composition,
            },
            "priors": {name: p.to_dict() for name, p in self.priors.items()},
            "sampler": {
                "draws": self.sampler.draws,
                "tune": self.sampler.tune,
                "chains": self.sampler.chains,
                "seed": self.sampler.seed,
                "target_accept": self.sampler.target_accept,
                "adaptation": self.sampler.adaptation,
                "max_tree_depth": self.sampler.max_tree_depth,
                "coordinates": self.sampler.coordinates,
                "pace_centring": self.sampler.pace_centring,
            },
        }

    def replace(self, **overrides: Any) -> ModelConfig:
        """Return a new config with nested overrides merged in (same layout as the TOML)."""
        return config_from_dict(_deep_merge(self.to_dict(), overrides), source="<override>")


def _check_keys(table: dict, allowed, where: str) -> None:
    for key in table:
        if not isinstance(key, str) or key not in allowed:
            raise ConfigError(f"{where}: unknown key {str(key)!r}{did_you_mean(key, allowed)}")


def _check_type(value: Any, expected: type, where: str) -> None:
    ok = isinstance(value, expected) and not (expected in (int, float) and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(f"{where}: expected {expected.__name__}, got {value!r}")


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "priors":
            merged[key] = _deep_merge(merged[key], value)
        elif key == "priors" and isinstance(value, dict):
            priors = merged.setdefault("priors", {})
            for name, spec in value.items():
                # a new family replaces the prior wholesale; same family merges parameters
                if isinstance(spec, dict) and spec.get(
                    "dist", priors.get(name, {}).get("dist")
                ) == priors.get(name, {}).get("dist"):
                    priors[name] = {**priors.get(name, {}), **spec}
                else:
                    priors[name] = copy.deepcopy(spec)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _parse_date(value: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{where}: expected an ISO date YYYY-MM-DD, got {value!r}") from None


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""Config names become file names (``run`` writes NAME.nc): no paths, no hidden files."""
EARLIEST_LAUNCH = dt.date(1990, 1, 1)
MAX_WINDOW_YEARS = 30
"""The monthly grid spans launch..horizon: at most this many years (360 grid months)."""
MAX_DRAWS = 1_000_000
MAX_CHAINS = 64


def config_from_dict(user: dict[str, Any], source: str = "<dict>") -> ModelConfig:
    """Validate ``user`` (TOML layout), merge it over DEFAULTS and return a ModelConfig.

    Raises ConfigError, prefixed with ``source``, at the first invalid key or value.
    """
    _check_layout(user, source)
    merged = _deep_merge(DEFAULTS, {k: v for k, v in user.items() if k != "extends"})
    _check_name(merged["name"], source)
    form = _growth_form(merged["growth"], source)
    launch, horizon = _time_window(merged["time"], source)
    obs = merged["observations"]
    kinds = _observation_kinds(obs, source)
    priors = _priors(merged["priors"], source)
    sampler = _sampler_settings(merged["sampler"], source)
    return ModelConfig(
        name=merged["name"],
        description=merged["description"],
        growth_form=form,
        launch=launch,
        horizon=horizon,
        kinds=kinds,
        activity_depressed=bool(obs["activity_depressed"]),
        log_sd={k: float(v) for k, v in obs["log_sd"].items()},
        priors=priors,
        sampler=sampler,
        shared_phones=bool(merged["structure"]["shared_phones"]),
        ceiling_prior=_ceiling_prior(merged["structure"], source),
        composition=_one_of(
            merged["structure"]["composition"],
            COMPOSITIONS,
            f"{source}: structure.composition",
            "composition",
        ),
    )


def _check_layout(user: dict[str, Any], source: str) -> None:
    """Check the user's tables and keys: known names with values of the right type."""
    if not isinstance(user, dict):
        raise ConfigError(f"{source}: a model config must be a table")
    _check_keys(user, _SECTIONS, source)
    for key, value in user.items():
        _check_type(value, _SECTIONS[key], f"{source}: {key}")
        if key in _SUBKEYS:
            _check_keys(value, _SUBKEYS[key], f"{source}: [{key}]")
            for sub, sub_value in value.items():
                _check_type(sub_value, _SUBKEYS[key][sub], f"{source}: {key}.{sub}")


def _check_name(name: str, source: str) -> None:
    """Check that the config's name can serve as a file name."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{source}: name: {name[:70]!r} is not a valid run name "
            "(letters, digits, '_', '.', '-'; at most 64; used as a file name)"
        )


def _one_of(value: str, choices: tuple[str, ...], where: str, noun: str) -> str:
    """Return ``value`` if it is one of ``choices``; else ConfigError naming ``where``."""
    if value not in choices:
        raise ConfigError(
            f"{where}: unknown {noun} {value!r}{did_you_mean(value, choices)}; choose one of "
            f"{', '.join(choices)}"
        )
    return value


def _ceiling_prior(structure: dict[str, Any], source: str) -> str:
    """Return which ceiling carries the prior: ``[structure] ceiling_prior``, in CEILING_PRIORS."""
    return _one_of(
        structure["ceiling_prior"], CEILING_PRIORS, f"{source}: structure.ceiling_prior", "choice"
    )


def _growth_form(growth: dict[str, Any], source: str) -> str:
    """Return the growth form of the ``[growth]`` table, one of GROWTH_FORMS."""
    return _one_of(growth["form"], GROWTH_FORMS, f"{source}: growth.form", "form")


def _time_window(time: dict[str, Any], source: str) -> tuple[dt.date, dt.date]:
    """Return (launch, horizon) of the ``[time]`` table: ordered, and a window of bounded size."""
    launch = _parse_date(time["launch"], f"{source}: time.launch")
    horizon = _parse_date(time["horizon"], f"{source}: time.horizon")
    if horizon <= launch:
        raise ConfigError(f"{source}: time.horizon {horizon} must be after time.launch {launch}")
    if launch < EARLIEST_LAUNCH or (horizon - launch).days > MAX_WINDOW_YEARS * 365.25:
        raise ConfigError(
            f"{source}: time: launch {launch} to horizon {horizon} must start in "
            f"{EARLIEST_LAUNCH.year} or later and span at most "
            f"{MAX_WINDOW_YEARS} years"
        )
    return launch, horizon


def _observation_kinds(obs: dict[str, Any], source: str) -> tuple[str, ...]:
    """Return the kinds of the ``[observations]`` table, after checking them and its log-sds."""
    kinds = tuple(obs["kinds"])
    for kind in kinds:
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(
                f"{source}: observations.kinds: unknown kind {kind!r}"
                f"{did_you_mean(str(kind), KINDS)}"
            )
    if not kinds or len(set(kinds)) != len(kinds):
        raise ConfigError(
            f"{source}: observations.kinds: expected distinct kinds, at least "
            f"one, got {list(kinds)!r}"
        )
    _check_keys(obs["log_sd"], KINDS, f"{source}: [observations.log_sd]")
    for kind, sd in obs["log_sd"].items():
        _check_type(sd, float, f"{source}: observations.log_sd.{kind}")
        if not (math.isfinite(sd) and sd > 0):
            raise ConfigError(
                f"{source}: observations.log_sd.{kind}: must be > 0 and finite, got {sd!r}"
            )
    return kinds


def _priors(specs: dict[str, Any], source: str) -> dict[str, Prior]:
    """Return the validated priors of the ``[priors]`` tables, hyperparameters as floats.

    A prior keeps the default's justification while its family is the default's one (else
    "user-supplied"), and always the default's source and units.
    """
    priors: dict[str, Prior] = {}
    _check_keys(specs, DEFAULT_PRIORS, f"{source}: [priors]")
    for name, spec in specs.items():
        if not isinstance(spec, dict) or "dist" not in spec:
            raise ConfigError(
                f"{source}: priors.{name}: expected a table with 'dist' and parameters"
            )
        params = {k: v for k, v in spec.items() if k != "dist"}
        default = DEFAULT_PRIORS[name]
        prior = Prior(
            str(spec["dist"]),
            params,
            default.justification if spec["dist"] == default.dist else "user-supplied",
            default.source,
            default.units,
        )
        try:
            prior.validate(name)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        priors[name] = Prior(
            prior.dist,
            {k: float(v) for k, v in params.items()},
            prior.justification,
            prior.source,
            prior.units,
        )
    return priors


def _sampler_settings(s: dict[str, Any], source: str) -> SamplerSettings:
    """Return the SamplerSettings of the ``[sampler]`` table, each setting checked."""
    for key, most in (("draws", MAX_DRAWS), ("tune", MAX_DRAWS), ("chains", MAX_CHAINS)):
        if not 1 <= s[key] <= most:
            raise ConfigError(
                f"{source}: sampler.{key}: must be >= 1 and <= {most:,}, got {s[key]}"
            )
    if not 0 <= s["seed"] < 2**63:
        raise ConfigError(
            f"{source}: sampler.seed: must be an integer in 0..2**63-1, got {s['seed']}"
        )
    if not 0.5 <= s["target_accept"] < 1:
        raise ConfigError(f"{source}: sampler.target_accept: must be in [0.5, 1)")
    if not 1 <= s["max_tree_depth"] <= 15:
        raise ConfigError(f"{source}: sampler.max_tree_depth: must be in 1..15")
    if s["adaptation"] not in ADAPTATIONS:
        raise ConfigError(
            f"{source}: sampler.adaptation: expected one of "
            f"{', '.join(ADAPTATIONS)}, got {s['adaptation']!r}"
        )
    if s["coordinates"] not in COORDINATES:
        raise ConfigError(
            f"{source}: sampler.coordinates: expected one of "
            f"{', '.join(COORDINATES)}, got {s['coordinates']!r}"
        )
    if not 0 <= s["pace_centring"] <= 1:
        raise ConfigError(
            f"{source}: sampler.pace_centring: must be in [0, 1], got {s['pace_centring']}"
        )
    return SamplerSettings(
        int(s["draws"]),
        int(s["tune"]),
        int(s["chains"]),
        int(s["seed"]),
        float(s["target_accept"]),
        str(s["adaptation"]),
        int(s["max_tree_depth"]),
        str(s["coordinates"]),
        float(s["pace_centring"]),
    )


def _load_toml_file(path: Path, what: str) -> dict[str, Any]:
    """Parse a TOML file; ConfigError naming the file when it is missing or invalid."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _read_toml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: 'extends' forms a cycle")
    table = _load_toml_file(path, "model config")
    parent = table.get("extends")
    if parent is None:
        return table
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: expected a file name, got {parent!r}")
    base = _read_toml(path.parent / parent, (*seen, path))
    base.pop("name", None)
    base.pop("description", None)
    return _deep_merge(base, {k: v for k, v in table.items() if k != "extends"})


def load_config(path: str | Path) -> ModelConfig:
    """Read a model TOML (following ``extends``), validate it and resolve the defaults."""
    path = Path(path)
    table = _read_toml(path)
    table.setdefault("name", path.stem)
    return config_from_dict(table, source=str(path))


def default_config() -> ModelConfig:
    """Return the baseline configuration built from the defaults in code."""
    return config_from_dict({}, source="<defaults>")


LFO_CONFIGS = ("baseline", "growth_logistic", "growth_gompertz")
"""Shipped configurations that leave-future-out compares by default (the growth forms)."""


def shipped_config_dir() -> Path:
    """Return the folder of the model configurations shipped with the package.

    The same files as the repository's ``models/`` (the package's copy is a link to it in a
    source checkout, real files in an installed wheel), so ``bayes-koryo sensitivity`` and
    ``bayes-koryo lfo`` find them wherever the package is installed.
    """
    return Path(str(resources.files("bayes_koryo.model").joinpath("configs")))


def shipped_configs(names: tuple[str, ...] | None = None) -> list[Path]:
    """Return the paths of the shipped configurations: all (sorted by name), or ``names``."""
    folder = shipped_config_dir()
    if names is None:
        return sorted(folder.glob("*.toml"))
    paths = [folder / f"{name}.toml" for name in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"{folder}: shipped configuration(s) {', '.join(missing)} missing")
    return paths


STRUCTURAL_RANGE_SET = "sets/structural_range.toml"
"""The declared set of plausible variants behind the structural range, relative to
``shipped_config_dir()`` (a TOML list, data rather than code)."""


@dataclass(frozen=True)
class VariantSet:
    """A declared set of model variants: its name and the configuration files, in order."""

    name: str
    paths: tuple[Path, ...]


def load_variant_set(path: str | Path | None = None) -> VariantSet:
    """Read a variant-set TOML; default: the shipped ``STRUCTURAL_RANGE_SET``.

    Keys: ``name`` and ``variants``, the config file names, relative to the parent of the
    set's folder (sets live in ``models/sets/``, configs in ``models/``).
    ConfigError naming the file and field on a missing file, a malformed list, a duplicate or
    a variant file that does not exist; the set must hold a variant named ``baseline.toml``.
    """
    path = Path(path) if path is not None else shipped_config_dir() / STRUCTURAL_RANGE_SET
    table = _load_toml_file(path, "variant set")
    _check_keys(table, ("name", "variants"), str(path))
    names = table.get("variants")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{path}: variants: expected a non-empty list of config file names")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: variants: listed twice: {', '.join(duplicates)}")
    if "baseline.toml" not in names:
        raise ConfigError(f"{path}: variants: the set must include baseline.toml")
    paths = tuple(path.parent.parent / n for n in names)
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(
            f"{path}: variants: no such config(s) in {path.parent.parent}: {', '.join(missing)}"
        )
    return VariantSet(str(table.get("name", path.stem)), paths)
