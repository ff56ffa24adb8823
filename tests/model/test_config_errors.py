"""Reliability: bad configs fail with one clear ConfigError before any compilation.

Unknown keys, wrong types, invalid prior parameters, priors whose support does not fit the
parameter, priors that jointly make the initial point impossible, a horizon before the data.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_koryo import cli
from bayes_koryo.errors import ConfigError, KoryoError
from bayes_koryo.model.config import DEFAULTS, ModelConfig, config_from_dict, load_config
from bayes_koryo.model.priors import DEFAULT_PRIORS, DOMAINS, SUPPORTS

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "models" / "baseline.toml"


def fails(table: dict, match: str) -> str:
    with pytest.raises(ConfigError, match=match) as info:
        config_from_dict(table, source="bad.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad.toml")
    return message


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"sampler": {"chians": 2}}, r"unknown key 'chians' \(did you mean 'chains'\?\)"),
        (
            {"priors": {"soldiers": {"dist": "Normal", "mu": 1.0, "sgima": 0.1}}},
            r"Normal takes parameters mu, sigma; unknown sgima \(did you mean 'sigma'\?\)",
        ),
        ({1: "x"}, "unknown key '1'"),
        ({"sampler": {2: 3}}, r"\[sampler\]: unknown key '2'"),
        ({"priors": {7: {"dist": "Normal"}}}, r"\[priors\]: unknown key '7'"),
    ],
)
def test_unknown_keys_anywhere(table, match):
    fails(table, match)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"sampler": {"draws": True}}, "sampler.draws: expected int, got True"),
        ({"sampler": {"draws": 10.0}}, "sampler.draws: expected int, got 10.0"),
        ({"sampler": {"target_accept": "0.9"}}, "sampler.target_accept: expected float"),
        ({"growth": "bass"}, "growth: expected dict, got 'bass'"),
        ({"observations": {"kinds": "milestone"}}, "observations.kinds: expected list"),
        ({"observations": {"kinds": [1]}}, "unknown kind 1"),
        ({"observations": {"kinds": []}}, "expected distinct kinds, at least one"),
        ({"observations": {"kinds": ["milestone", "milestone"]}}, "expected distinct kinds"),
        ({"observations": {"log_sd": {"milestone": "0.1"}}}, "log_sd.milestone: expected float"),
        ({"priors": {"soldiers": 0.95}}, "priors.soldiers: expected a table with 'dist'"),
        ({"priors": {"soldiers": {"mu": "0.95"}}}, "priors.soldiers.mu: expected a number"),
        ({"priors": {"soldiers": {"mu": True}}}, "priors.soldiers.mu: expected a number"),
    ],
)
def test_wrong_types(table, match):
    fails(table, match)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"priors": {"deviation_scale": {"sigma": -0.3}}}, "deviation_scale.sigma: must be > 0"),
        ({"priors": {"official_share": {"alpha": 0}}}, "official_share.alpha: must be > 0"),
        ({"priors": {"official_share": {"beta": -1e-9}}}, "official_share.beta: must be > 0"),
        ({"priors": {"soldiers": {"mu": math.nan}}}, "soldiers.mu: must be finite"),
        ({"priors": {"soldiers": {"sigma": math.inf}}}, "soldiers.sigma: must be finite"),
        ({"priors": {"soldiers": {"mu": -math.inf}}}, "soldiers.mu: must be finite"),
        ({"priors": {"soldiers": {"mu": 10**400}}}, "soldiers.mu: must be finite"),
        ({"observations": {"log_sd": {"milestone": math.inf}}}, "log_sd.milestone: must be > 0"),
        ({"observations": {"log_sd": {"milestone": math.nan}}}, "log_sd.milestone: must be > 0"),
    ],
)
def test_invalid_prior_and_noise_parameters(table, match):
    fails(table, match)


def test_nan_and_inf_from_toml_are_refused(tmp_path):
    path = tmp_path / "nan.toml"
    path.write_text("[priors.soldiers]\nmu = nan\n")
    with pytest.raises(ConfigError, match=r"nan.toml: priors.soldiers.mu: must be finite"):
        load_config(path)
    path.write_text("[priors.official_share]\nalpha = inf\n")
    with pytest.raises(ConfigError, match=r"priors\.official_share\.alpha: must be finite"):
        load_config(path)


def test_every_parameter_has_a_domain_that_its_default_prior_fits():
    assert set(DOMAINS) == set(DEFAULT_PRIORS)
    config_from_dict({})  # the defaults pass their own domain checks


@pytest.mark.parametrize(
    ("variable", "spec", "match"),
    [
        (
            "official_share",
            {"dist": "LogNormal", "mu": -2.0, "sigma": 0.5},
            "LogNormal has support on positive values but official_share takes the interval",
        ),
        ("ceiling_share", {"dist": "Gamma", "alpha": 2.0, "beta": 10.0}, "use one of Beta"),
        ("inactive_share", {"dist": "HalfNormal", "sigma": 0.1}, "HalfNormal has support"),
        ("soldiers", {"mu": 0.1}, r"puts 0.25 of its mass outside the domain of soldiers"),
        ("official_share", {"dist": "Normal", "mu": 0.1, "sigma": 0.1}, "outside the domain"),
        ("innovation_rate", {"dist": "Normal", "mu": 0.03, "sigma": 0.02}, "innovation_rate"),
    ],
)
def test_prior_support_must_fit_the_parameter(variable, spec, match):
    message = fails({"priors": {variable: spec}}, match)
    assert f"priors.{variable}" in message


def test_a_tight_normal_inside_the_domain_is_allowed():
    config = config_from_dict(
        {"priors": {"ceiling_share": {"dist": "Normal", "mu": 0.2, "sigma": 0.03}}}
    )
    assert config.priors["ceiling_share"].dist == "Normal"
    assert set(SUPPORTS) == {"Normal", "HalfNormal", "LogNormal", "Beta", "Gamma"}


def test_priors_that_jointly_make_the_initial_point_impossible():
    """Each prior is fine alone; together they say there are more children than people."""
    from bayes_koryo.inference.fit import KoryoModel

    config = config_from_dict(
        {"priors": {"children_under_10": {"mu": 30.0, "sigma": 1.0}}}, source="kids.toml"
    )
    with pytest.raises(ConfigError) as info:
        KoryoModel(config)
    message = str(info.value)
    assert "\n" not in message
    assert "not finite at the model's initial point for log_subscription_ceiling" in message
    assert "reported_audited_quarterly" in message
    # the cause comes first among the quantities named, before its NaN consequences
    assert "initial point addressable_population = -" in message


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"name": "../../etc/passwd"}, "is not a valid run name"),
        ({"name": ".hidden"}, "is not a valid run name"),
        ({"name": ""}, "is not a valid run name"),
        ({"time": {"horizon": "2500-01-01"}}, "span at most 30 years"),
        ({"time": {"launch": "0001-01-01"}}, "must start in 1990 or later"),
        ({"sampler": {"draws": 10**9}}, r"sampler.draws: must be >= 1 and <= 1,000,000"),
        ({"sampler": {"chains": 1000}}, "sampler.chains: must be >= 1 and <= 64"),
        ({"sampler": {"seed": 2**64}}, "sampler.seed: must be an integer in 0..2"),
        ({"sampler": {"seed": -1}}, "sampler.seed"),
    ],
)
def test_implausible_names_windows_and_sampler_settings(table, match):
    fails(table, match)


def test_cli_fit_with_a_horizon_before_the_data_exits_2_in_one_line(capsys, tmp_path):
    config = tmp_path / "short.toml"
    config.write_text(f'extends = "{BASELINE}"\n[time]\nhorizon = "2012-06-30"\n')
    out = tmp_path / "x.nc"
    code = cli.main(["fit", str(config), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: ") and "after the model's window" in err
    assert "time.horizon" in err and "column 'date'" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "text",
    [
        "[sampler]\ndraws = 'ten'\n",
        "[priors.official_share]\ndist = 'LogNormal'\nmu = -2.0\nsigma = 0.5\n",
        "[priors.soldiers]\nsigma = -1\n",
        "name = '../escape'\n",
        "[growth\nform = 'bass'\n",
    ],
)
def test_cli_fit_with_bad_configs_prints_one_line_and_exits_2(capsys, tmp_path, text):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    code = cli.main(["fit", str(config), "--out", str(tmp_path / "x.nc")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err and not (tmp_path / "x.nc").exists()


# --------------------------------------------------------------------------- property test

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.integers(min_value=2**62),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["bass", "gompertz", "2013-01-01", "Beta", "Normal", "diag"]),
)
KEYS = st.one_of(
    st.sampled_from(
        sorted(
            {
                *DEFAULTS,
                *DEFAULTS["sampler"],
                *DEFAULTS["time"],
                *DEFAULTS["observations"],
                "form",
                "dist",
                "mu",
                "sigma",
                "alpha",
                "beta",
                *DEFAULT_PRIORS,
            }
        )
    ),
    st.text(max_size=6),
    st.integers(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=8,
)


def _mutated_defaults(draw) -> dict:
    """The defaults with a few entries replaced, deleted or added at any depth."""
    import copy

    table = copy.deepcopy(DEFAULTS)
    for _ in range(draw(st.integers(1, 4))):
        node = table
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node, key=str)))
            if not isinstance(node[key], dict):
                break
            node = node[key]
        if not isinstance(node, dict):
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "add" or not node:
            node[draw(KEYS)] = draw(VALUES)
        elif action == "delete":
            del node[draw(st.sampled_from(sorted(node, key=str)))]
        else:
            node[draw(st.sampled_from(sorted(node, key=str)))] = draw(VALUES)
    return table


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_config_dict_gives_a_config_or_a_config_error(data):
    table = data.draw(
        st.one_of(
            st.builds(dict),
            VALUES,
            st.builds(lambda: None).flatmap(
                lambda _: st.composite(lambda d: _mutated_defaults(d))()
            ),
        )
    )
    try:
        config = config_from_dict(table, source="fuzz.toml")
    except KoryoError as exc:
        assert isinstance(exc, ConfigError)
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.toml")
        return
    assert isinstance(config, ModelConfig)
    assert config_from_dict(config.to_dict()) == config  # a valid config round-trips
    for name, prior in config.priors.items():
        assert all(math.isfinite(v) for v in prior.params.values()), name
