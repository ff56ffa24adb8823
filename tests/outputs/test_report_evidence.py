"""What a cited number rests on: power-scaling evidence labels, the structural range and the
claims that hold by construction, in every report format.

Uses the session's fitted baseline (reduced settings); no extra compilation.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from latex_tools import check_latex

from bayes_koryo import cli
from bayes_koryo.data import data_hash
from bayes_koryo.errors import ConfigError
from bayes_koryo.inference import prior_sensitivity as ps
from bayes_koryo.model.priors import PRIOR_GROUPS
from bayes_koryo.outputs import latex, report, webpage
from bayes_koryo.validation import sensitivity as sens

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("prior", "likelihood", "label"),
    [
        (0.14, 0.012, "prior-driven"),
        (ps.PSENSE_THRESHOLD, ps.PSENSE_THRESHOLD - 1e-9, "prior-driven"),
        (0.2, ps.PSENSE_THRESHOLD, "prior-data conflict"),
        (ps.PSENSE_THRESHOLD - 1e-9, 0.3, "data-driven"),
        (0.01, 0.01, "data-driven"),
        (math.nan, 0.1, "not measured"),
    ],
)
def test_evidence_label_follows_the_stated_threshold(prior, likelihood, label):
    assert ps.evidence(prior, likelihood) == label


def test_every_group_of_priors_has_a_phrase_for_the_generated_text():
    assert set(ps.GROUP_PHRASES) == set(PRIOR_GROUPS)


@pytest.fixture(scope="module")
def built(fitted):
    return report.build_report(fitted)


def test_every_reported_quantity_says_what_it_rests_on(built):
    table = built.table
    assert table["prior_sensitivity"].notna().all()
    assert table["likelihood_sensitivity"].notna().all()
    assert set(table["evidence"]) <= set(ps.EVIDENCE_LABELS)
    assert set(table["most_influential_prior"]) <= set(PRIOR_GROUPS)
    for row in table.itertuples():
        assert row.evidence == ps.evidence(row.prior_sensitivity, row.likelihood_sensitivity)
    ceiling = table[table["quantity"] == "user_ceiling"].iloc[0]
    assert ceiling.most_influential_prior == "ceiling"
    assert (table["sensitivity_pareto_k"] < 0.7).all()
    records = json.loads(report.render(built, "json"))
    assert {"prior_sensitivity", "likelihood_sensitivity", "evidence"} <= set(records[0])
    assert "most_influential_prior" in report.render(built, "csv").splitlines()[0]
    markdown = report.render(built, "md")
    assert "| rests on |" in markdown and "most influential prior" in markdown


def test_the_sentence_and_methods_state_the_evidence_they_measured(built):
    table = built.table
    u = table[(table["quantity"] == "unique_users") & (table["date"] == "2013-05-28")].iloc[0]
    sentence = built.sentence()
    assert f"the number of people is {u.evidence}" in sentence
    assert f"{u.prior_sensitivity:.2g} to the priors" in sentence
    assert f"threshold {ps.PSENSE_THRESHOLD:g}" in sentence
    assert ps.GROUP_PHRASES[u.most_influential_prior] in sentence
    methods = report.methods_text(built)
    counts = table["evidence"].value_counts()
    assert f"Of the {len(table)} reported quantities" in methods
    for label, n in counts.items():
        assert f"{n} {label}" in methods
    assert "Pareto k" in methods


def test_claims_that_hold_by_construction_say_so_and_others_name_their_prior_reference(
    built, fitted
):
    probs = built.probabilities.set_index("claim")
    constructed = probs[probs["basis"] == "construction"]
    assert any("2012-02-02 < 0.8 million" in c for c in constructed.index)
    u15 = probs.loc["P(unique users on 2013-05-28 < 1.5 million)"]
    share = fitted.idata["prior"]["real_user_share"]
    assert math.isclose(u15.reference_probability, float((share < 1.5 / 2.0).mean()))
    assert "S fixed at the reported 2 million" in u15.reference
    tolerance = report.PRIOR_PROBABILITY_TOLERANCE
    for row in probs.itertuples():
        if row.basis in ("prior", "data"):
            near = abs(row.probability - row.reference_probability) <= tolerance
            assert (row.basis == "prior") == near
    markdown = report.render(built, "md")
    assert "holds by construction: every user holds at least one active SIM" in markdown


def test_with_shared_phones_no_claim_holds_by_construction(fitted):
    """When a holder's phone serves h > 1 people, users may exceed the active numbers and the
    SIMs: the two constructed claims are then probabilities like the others."""
    from bayes_koryo.outputs.claims import probabilities

    posterior = fitted.idata["posterior"].to_dataset()
    shared = posterior.assign(users_per_holder=posterior["official_share"] * 0 + 1.7)
    probs = probabilities(shared).set_index("claim")
    assert "construction" not in set(probs["basis"])
    plain = probabilities(posterior).set_index("claim")
    assert (plain["basis"] == "construction").sum() == 2


def _structural_file(fitted, tmp_path, hash_=None) -> Path:
    rows = []
    for name, shift in (("baseline", 0.0), ("sims_high", -0.2), ("official_low", 0.1)):
        record = {"variant": name, "data_hash": hash_ or data_hash(fitted.observations)}
        record["converged"] = True
        for _, _, label, _ in sens.VARIANT_QUANTITIES:
            m = 1.0 + shift
            record |= {
                f"{label} median": m,
                f"{label} ci_low": 0.7 * m,
                f"{label} ci_high": 1.3 * m,
                f"{label} mcse_median": 0.004,
            }
        rows.append(record)
    declared = ["baseline", "sims_high", "official_low"]
    table = sens.structural_range(sens.variants_table(rows), declared)
    sens.write_structural_range(table, tmp_path, {"declared": declared, "package_version": "t"})
    return tmp_path / "structural_range.json"


def test_the_structural_range_stands_beside_the_headline_in_every_format(fitted, tmp_path):
    path = _structural_file(fitted, tmp_path)
    rep = report.build_report(fitted, structural=report.read_structural_range(path))
    u = rep.table[(rep.table["quantity"] == "unique_users") & (rep.table["date"] == "2013-05-28")]
    assert math.isclose(u["structural_low"].iloc[0], 0.7 * 0.8)
    assert math.isclose(u["structural_high"].iloc[0], 1.3 * 1.1)
    assert u["structural_variants"].iloc[0] == 3 and u["structural_driver"].iloc[0] == "sims_high"
    assert "Across the 3 declared model variants" in rep.sentence()
    assert "moves it most is sims_high" in rep.sentence()
    assert "structural range" in report.methods_text(rep)
    assert "| structural range |" in report.render(rep, "md")
    assert json.loads(report.render(rep, "json"))[1]["structural_low"] == pytest.approx(0.56)
    assert "structural range" in report.headline_markdown(rep)
    tex = latex.snippet(rep)
    check_latex(tex)
    assert "Structural range" in tex and latex.EVIDENCE_NOTE in tex
    assert "structural range" in webpage.page(rep)


def test_a_structural_range_of_other_data_or_another_interval_is_refused(fitted, tmp_path):
    other = _structural_file(fitted, tmp_path, hash_="f" * 64)
    with pytest.raises(ConfigError, match=re.escape(f"{other}: its variants were fitted on data")):
        report.build_report(fitted, structural=report.read_structural_range(other))
    mine = _structural_file(fitted, tmp_path / "mine")
    with pytest.raises(ConfigError, match="its intervals are 90% ETI, the report's 90% HDI"):
        report.build_report(fitted, kind="HDI", structural=report.read_structural_range(mine))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such structural-range file"),
        ("{not json", "invalid JSON"),
        ('{"rows": []}', "with rows"),
        ('{"rows": [{"variable": "x"}]}', "row 1: missing field(s) date"),
    ],
)
def test_a_bad_structural_range_file_is_one_line_naming_file_and_row(tmp_path, content, message):
    path = tmp_path / "structural_range.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        report.read_structural_range(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_run_refuses_a_bad_structural_range_before_fitting(tmp_path, capsys, monkeypatch):
    from bayes_koryo.inference import fit as inference

    def refuse(*args, **kwargs):
        raise AssertionError("fitted before the structural-range file was checked")

    monkeypatch.setattr(inference.KoryoModel, "__init__", refuse)
    code = cli.main(
        [
            "run",
            str(ROOT / "models" / "baseline.toml"),
            "--out-dir",
            str(tmp_path),
            "--structural-range",
            str(tmp_path / "absent.json"),
        ]
    )
    err = capsys.readouterr().err
    assert code != 0 and "absent.json: no such structural-range file" in err


def test_report_cli_reads_the_structural_range(fitted, tmp_path, capsys):
    run = tmp_path / "run.nc"
    fitted.save(run)
    path = _structural_file(fitted, tmp_path)
    code = cli.main(["report", str(run), "--structural-range", str(path), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    rows = pd.DataFrame(json.loads(out))
    assert rows["structural_low"].notna().sum() == len(sens.VARIANT_QUANTITIES)
