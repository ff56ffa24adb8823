"""The structural range: the declared variant set (data, not code), the union of the variants'
intervals, and the prior intervals quoted in the variant files.

Cost: no fit; synthetic variants tables and the shipped TOML files only.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from bayes_koryo.errors import ConfigError
from bayes_koryo.model.config import load_config, load_variant_set
from bayes_koryo.validation import sensitivity as sens

MODELS = Path(__file__).resolve().parents[2] / "models"
HASH = "ab" * 32


def _variants(rows: dict[str, tuple[float, float, float]], converged=None) -> pd.DataFrame:
    """A variants table whose every compared quantity has the (median, low, high) given."""
    records = []
    for name, (median, low, high) in rows.items():
        record = {"variant": name, "data_hash": HASH, "converged": True}
        for _, _, label, _ in sens.VARIANT_QUANTITIES:
            record |= {
                f"{label} median": median,
                f"{label} ci_low": low,
                f"{label} ci_high": high,
                f"{label} mcse_median": 0.004,
            }
        records.append(record)
    table = sens.variants_table(records)
    if converged is not None:
        table["converged"] = [converged.get(v, True) for v in table["variant"]]
    return table


def test_structural_range_is_the_union_of_the_converged_declared_intervals():
    table = _variants(
        {
            "baseline": (1.0, 0.7, 1.3),
            "low_one": (0.6, 0.4, 0.9),
            "high_one": (1.2, 0.9, 1.6),
            "wild_unconverged": (3.0, 2.0, 4.0),
            "not_declared": (0.1, 0.05, 0.2),
        },
        converged={"wild_unconverged": False},
    )
    declared = ["baseline", "low_one", "high_one", "wild_unconverged"]
    out = sens.structural_range(table, declared).set_index("quantity")
    row = out.loc["U(May 2013)"]
    assert (row.structural_low, row.structural_high) == (0.4, 1.6)
    assert (row.low_variant, row.high_variant) == ("low_one", "high_one")
    assert row.largest_shift_variant == "low_one" and math.isclose(row.largest_shift, -0.4)
    assert (row.variants, row.declared, row.left_out) == (3, 4, "wild_unconverged")
    assert (row.baseline_ci_low, row.baseline_ci_high) == (0.7, 1.3)
    assert list(out.reset_index().columns) == list(sens.STRUCTURAL_FIELDS)
    text = sens.structural_markdown(out.reset_index())
    assert "0.40-1.60" in text or "0.4-1.6" in text
    assert "left out: wild_unconverged" in text


def test_structural_range_refuses_missing_variants_other_data_and_an_unconverged_baseline():
    table = _variants({"baseline": (1.0, 0.7, 1.3), "other": (1.1, 0.8, 1.4)})
    with pytest.raises(ValueError, match="not fitted: absent"):
        sens.structural_range(table, ["baseline", "absent"])
    mixed = table.assign(data_hash=[HASH, "cd" * 32])
    with pytest.raises(ValueError, match="different data"):
        sens.structural_range(mixed, ["baseline", "other"])
    failed = table.assign(converged=[False, True])
    with pytest.raises(ValueError, match="missed the convergence gate"):
        sens.structural_range(failed, ["baseline", "other"])


def test_the_shipped_variant_set_holds_every_assumption_variant_and_no_data_variant():
    declared = load_variant_set()
    names = [p.stem for p in declared.paths]
    assert names[0] == "baseline" and len(names) == len(set(names))
    every_config = {p.stem for p in MODELS.glob("*.toml")}
    left_out = every_config - set(names)
    # what stays out of the range leaves data out; every other shipped config is in it
    assert left_out == {"no_activity_statement", "no_rounded_statements"}
    for path in declared.paths:
        assert load_config(path).kinds == load_config(MODELS / "baseline.toml").kinds, path
    # joint scenarios and variants for pi and iota are declared (the composition assumptions)
    assert {"composition_high", "composition_low", "heavy_users_high", "inactive_low"} <= set(names)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('variants = ["baseline.toml", "baseline.toml"]', "listed twice: baseline.toml"),
        ('variants = ["sims_high.toml"]', "must include baseline.toml"),
        ('variants = ["baseline.toml", "nope.toml"]', "no such config"),
        ("variants = []", "non-empty list"),
        ('variant = ["baseline.toml"]', "unknown key 'variant'"),
    ],
)
def test_a_bad_variant_set_fails_with_one_line_naming_the_file(tmp_path, text, message):
    models = tmp_path / "models"
    (models / "sets").mkdir(parents=True)
    for name in ("baseline.toml", "sims_high.toml"):
        (models / name).write_text((MODELS / name).read_text())
    path = models / "sets" / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_variant_set(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


QUOTED = re.compile(r"90% interval\s+(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)")


@pytest.mark.parametrize(
    "path", sorted(p for p in MODELS.glob("*.toml") if p.stem != "baseline"), ids=lambda p: p.stem
)
def test_a_prior_interval_quoted_in_a_variant_file_is_its_priors_own(path):
    """Each '90% interval a-b' in a variant's comment is the equal-tailed 90% interval (PreliZ)
    of a prior the variant sets, to the digits quoted."""
    from bayes_koryo.model.priors import prior_interval

    comment = " ".join(
        line.lstrip("# ") for line in path.read_text().splitlines() if line.startswith("#")
    )
    config = load_config(path)
    base = load_config(MODELS / "baseline.toml")
    changed = [n for n, p in config.priors.items() if p.params != base.priors[n].params]
    intervals = {n: prior_interval(config.priors[n], 0.9) for n in changed}
    for quoted in QUOTED.findall(comment):
        assert any(
            all(
                abs(float(q) - e) <= 0.5 * 10 ** -(len(q.split(".")[1]) if "." in q else 0) + 1e-12
                for q, e in zip(quoted, exact, strict=True)
            )
            for exact in intervals.values()
        ), f"{path.name}: quoted 90% interval {quoted}, the priors it sets give {intervals}"
