"""Tests of bayes_koryo.data: the bundled files, one test per validation rule, a property test."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_koryo.data import (
    OBSERVATION_COLUMNS,
    OBSERVATIONS_FILE,
    active_share_observation,
    data_hash,
    demography_value,
    load_demography,
    load_network,
    load_observations,
)
from bayes_koryo.errors import DataValidationError, KoryoError
from bayes_koryo.study import KINDS, QUANTITIES

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = resources.files("bayes_koryo.data").joinpath(OBSERVATIONS_FILE).read_text("utf-8")
BUNDLED_DEMOGRAPHY = resources.files("bayes_koryo.data").joinpath("dprk_demography.csv")
BUNDLED_NETWORK = resources.files("bayes_koryo.data").joinpath("koryolink_network_2009_2011.csv")
# Line numbers of some rows of the bundled file (header = row 1).
AUDITED_2009_09 = 5
MILESTONE_2012_02 = 15  # subscribers, value 1000000, bounds 1000000 - 1050000
ACTIVE_2012_02 = 16  # active_numbers, value 800000, bounds 750000 - 850000
LAST_ROW = 19


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write(tmp_path: Path, text: str | bytes, name: str = "obs.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def with_cell(row: int, column: str, value: str, text: str = BUNDLED) -> str:
    """The file with one cell replaced (``row`` is the line number, header = 1)."""
    rows = rows_of(text)
    rows[row - 1][rows[0].index(column)] = value
    return to_csv(rows)


def without_column(column: str, text: str = BUNDLED) -> str:
    rows = rows_of(text)
    i = rows[0].index(column)
    return to_csv([r[:i] + r[i + 1 :] for r in rows])


def where(path: Path, row: int | None = None, column: str | None = None) -> str:
    """Regex for the start of an error message naming file, row and column."""
    text = str(path)
    if row is not None:
        text += f", row {row}"
    if column is not None:
        text += f", column '{column}'"
    return "^" + re.escape(text + ": ") + ".*"


# --------------------------------------------------------------------------- bundled data


def test_bundled_observations() -> None:
    df = load_observations()
    assert len(df) == 18
    assert df["date"].iloc[0] == pd.Timestamp("2008-12-31")
    assert df["date"].iloc[-1] == pd.Timestamp("2013-05-28")
    assert list(df.columns) == list(OBSERVATION_COLUMNS)
    assert df["date"].dtype == np.dtype("datetime64[ns]")
    for column in ("value", "lower", "upper"):
        assert df[column].dtype == np.dtype("float64")
    assert isinstance(df["quantity"].dtype, pd.CategoricalDtype)
    assert list(df["quantity"].cat.categories) == list(QUANTITIES)
    assert list(df["kind"].cat.categories) == list(KINDS)
    for column in ("source", "url", "note"):
        assert pd.api.types.is_string_dtype(df[column])
        assert all(isinstance(v, str) for v in df[column])
    assert (df["source"].str.len() > 0).all()
    assert list(df.index) == list(range(18))
    assert df["date"].is_monotonic_increasing
    assert df.attrs["source_file"].endswith(OBSERVATIONS_FILE)
    audited = df[df["kind"] == "audited_quarterly"]
    assert audited[["lower", "upper"]].isna().all().all()
    assert (df.loc[df["kind"] != "audited_quarterly", "lower"] > 0).all()


def test_active_share_is_0_8() -> None:
    share = active_share_observation(load_observations())
    assert list(share.columns) == [
        "date",
        "active",
        "subscribers",
        "share",
        "share_lower",
        "share_upper",
    ]
    assert len(share) == 1
    row = share.iloc[0]
    assert row["date"] == pd.Timestamp("2012-02-02")
    assert row["share"] == pytest.approx(0.8)
    assert row["share_lower"] == pytest.approx(0.75)
    assert row["share_upper"] == pytest.approx(0.85)


def test_active_share_nan_without_bounds(tmp_path: Path) -> None:
    text = with_cell(ACTIVE_2012_02, "lower", "", with_cell(ACTIVE_2012_02, "upper", ""))
    share = active_share_observation(load_observations(write(tmp_path, text)))
    assert share["share"].iloc[0] == pytest.approx(0.8)
    assert share[["share_lower", "share_upper"]].isna().all().all()


def test_explicit_path_equals_bundled(tmp_path: Path) -> None:
    path = write(tmp_path, BUNDLED)
    df = load_observations(path)
    assert df.attrs["source_file"] == str(path)
    pd.testing.assert_frame_equal(df, load_observations(), check_like=False)
    assert data_hash(df) == data_hash(load_observations())


def test_rows_sorted_whatever_the_file_order(tmp_path: Path) -> None:
    rows = rows_of(BUNDLED)
    df = load_observations(write(tmp_path, to_csv([rows[0], *reversed(rows[1:])])))
    assert df["date"].is_monotonic_increasing
    assert list(df["quantity"].iloc[13:15]) == ["subscribers", "active_numbers"]
    assert data_hash(df) == data_hash(load_observations())


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    text = BUNDLED
    for column in ("lower", "upper", "url", "note"):
        text = without_column(column, text)
    df = load_observations(write(tmp_path, text))
    assert list(df.columns) == list(OBSERVATION_COLUMNS)
    assert df["lower"].isna().all() and df["upper"].isna().all()
    assert (df["url"] == "").all() and (df["note"] == "").all()


def test_bom_crlf_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    text = "\ufeff" + BUNDLED.replace("\n", "\r\n")
    assert data_hash(load_observations(write(tmp_path, text))) == data_hash(load_observations())
    lines = BUNDLED.splitlines()
    text = "\n".join([*lines[:3], "", *lines[3:]]) + "\n"
    assert len(load_observations(write(tmp_path, text))) == 18


def test_data_hash_changes_with_data_and_is_stable_across_processes(tmp_path: Path) -> None:
    df = load_observations()
    changed = load_observations(write(tmp_path, with_cell(AUDITED_2009_09, "value", "69262")))
    assert data_hash(changed) != data_hash(df)
    code = "from bayes_koryo.data import data_hash, load_observations as L; print(data_hash(L()))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == data_hash(df)
    assert re.fullmatch(r"[0-9a-f]{64}", data_hash(df))


def test_bundled_demography() -> None:
    df = load_demography()
    assert len(df) == 10 and df.index.name == "quantity" and df.index.is_unique
    assert df["value"].dtype == np.dtype("float64")
    assert list(df.columns) == ["value", "date", "source", "url", "note"]
    assert demography_value(df, "population_total_census") == 24052231
    assert demography_value(df, "population_0_14_share") == pytest.approx(0.2319)
    assert df.loc["children_under_10_approx", "date"] == "2013"
    with pytest.raises(DataValidationError, match=r"column 'quantity': no quantity 'nope'"):
        demography_value(df, "nope")


def test_bundled_network() -> None:
    df = load_network()
    assert len(df) == 7
    assert df["date"].dtype == np.dtype("datetime64[ns]") and df["date"].is_monotonic_increasing
    assert df.loc[df["date"] == "2010-12-31", "base_stations"].item() == 333
    assert math.isnan(df["minutes_of_use"].iloc[0])
    assert (df["population_coverage"].dropna() <= 1).all()


# --------------------------------------------------------------------------- bad input


def test_error_is_a_koryo_error_with_exit_code_2(tmp_path: Path) -> None:
    path = write(tmp_path, with_cell(AUDITED_2009_09, "value", "x"))
    with pytest.raises(KoryoError) as info:
        load_observations(path)
    err = info.value
    assert isinstance(err, DataValidationError) and err.exit_code == 2
    assert (err.file, err.row, err.column) == (str(path), AUDITED_2009_09, "value")
    assert str(err) == f"{path}, row 5, column 'value': 'x' is not a number"


@pytest.mark.parametrize("text", ["", "  \n\n", "\ufeff"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataValidationError, match=where(path) + "file is empty"):
        load_observations(path)


def test_header_only(tmp_path: Path) -> None:
    path = write(tmp_path, BUNDLED.splitlines()[0] + "\n")
    with pytest.raises(DataValidationError, match=where(path) + r"no data rows"):
        load_observations(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(DataValidationError, match=where(path) + "cannot read file"):
        load_observations(path)


@pytest.mark.parametrize("column", ["date", "value", "quantity", "kind", "source"])
def test_missing_required_column(tmp_path: Path, column: str) -> None:
    path = write(tmp_path, without_column(column))
    with pytest.raises(
        DataValidationError, match=where(path, 1, column) + f"missing required column.*'{column}'"
    ):
        load_observations(path)


def test_unknown_column(tmp_path: Path) -> None:
    rows = rows_of(BUNDLED)
    path = write(
        tmp_path, to_csv([r + (["colour"] if i == 0 else ["red"]) for i, r in enumerate(rows)])
    )
    with pytest.raises(DataValidationError, match=where(path, 1, "colour") + "unknown column"):
        load_observations(path)


def test_misspelled_column_names_both(tmp_path: Path) -> None:
    path = write(tmp_path, BUNDLED.replace("date,value", "dat,value", 1))
    with pytest.raises(
        DataValidationError, match=where(path, 1, "date") + r"missing .*'date'.*unknown .*'dat'"
    ):
        load_observations(path)


def test_duplicated_header_column(tmp_path: Path) -> None:
    path = write(tmp_path, BUNDLED.replace(",note\n", ",url\n", 1))
    with pytest.raises(DataValidationError, match=where(path, 1, "url") + "column appears twice"):
        load_observations(path)


def test_row_with_too_few_fields(tmp_path: Path) -> None:
    lines = BUNDLED.splitlines()
    lines[AUDITED_2009_09 - 1] = "2009-09-30,69261,subscribers"
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=where(path, 5, "kind") + "row has 3 field"):
        load_observations(path)


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    lines = BUNDLED.splitlines()
    lines[AUDITED_2009_09 - 1] += ",extra"
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=where(path, 5) + "row has 10 field"):
        load_observations(path)


def test_malformed_quoting(tmp_path: Path) -> None:
    lines = BUNDLED.splitlines()
    lines[AUDITED_2009_09 - 1] = lines[AUDITED_2009_09 - 1].replace('"Orascom', '"Ora"scom')
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=where(path, 5) + "malformed CSV"):
        load_observations(path)


def test_row_numbers_are_line_numbers_with_multiline_cells(tmp_path: Path) -> None:
    text = with_cell(3, "note", "first line\nsecond line")  # row 3 now spans lines 3-4
    text = with_cell(AUDITED_2009_09, "value", "x", text)  # still row 5 of rows_of()
    path = write(tmp_path, text)
    with pytest.raises(DataValidationError, match=where(path, 6, "value")):
        load_observations(path)


def test_invalid_utf8(tmp_path: Path) -> None:
    data = with_cell(AUDITED_2009_09, "note", "XX").encode().replace(b"XX", b"\xff\xfe")
    path = write(tmp_path, data)
    with pytest.raises(DataValidationError, match=where(path, 5) + "not valid UTF-8"):
        load_observations(path)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("", "missing date"),
        ("2009/09/30", "not an ISO date"),
        ("30-09-2009", "not an ISO date"),
        ("20090930", "not an ISO date"),
        ("2009-09-30T00:00", "not an ISO date"),
        ("Sep 2009", "not an ISO date"),
        ("2009-9-30", "not an ISO date"),
        ("\uff12\uff10\uff10\uff19-09-30", "not an ISO date"),  # full-width digits
        ("2009-13-01", "not a calendar date"),
        ("2009-02-29", "not a calendar date"),
        ("0001-01-01", "out of range"),
    ],
)
def test_bad_date(tmp_path: Path, cell: str, problem: str) -> None:
    path = write(tmp_path, with_cell(AUDITED_2009_09, "date", cell))
    with pytest.raises(DataValidationError, match=where(path, 5, "date") + problem):
        load_observations(path)


COUNT_CASES = [
    ("abc", "is not a number"),
    ("12a", "is not a number"),
    ("1_000_000", "thousands separators are not allowed"),
    ("1,000,000", r"thousands separators are not allowed \(write 1000000\)"),
    ("1 000 000", "thousands separators are not allowed"),
    ("0x10", "is not a number"),
    ("-5", "must be positive"),
    ("0", "must be positive"),
    ("0.0", "must be positive"),
    ("nan", "not a finite number"),
    ("inf", "not a finite number"),
    ("-Infinity", "not a finite number"),
    ("1e400", "not a finite number"),
    ("1000000.5", "whole number"),
    ("1e20", "implausibly large"),
]


@pytest.mark.parametrize(("cell", "problem"), [*COUNT_CASES, ("", "missing value")])
def test_bad_value(tmp_path: Path, cell: str, problem: str) -> None:
    path = write(tmp_path, with_cell(MILESTONE_2012_02, "value", cell))
    with pytest.raises(DataValidationError, match=where(path, 15, "value") + f".*{problem}"):
        load_observations(path)


@pytest.mark.parametrize("column", ["lower", "upper"])
@pytest.mark.parametrize(("cell", "problem"), COUNT_CASES)
def test_bad_bound(tmp_path: Path, column: str, cell: str, problem: str) -> None:
    path = write(tmp_path, with_cell(MILESTONE_2012_02, column, cell))
    with pytest.raises(DataValidationError, match=where(path, 15, column) + f".*{problem}"):
        load_observations(path)


def test_whole_number_forms_are_accepted(tmp_path: Path) -> None:
    text = with_cell(MILESTONE_2012_02, "value", "1e6")
    text = with_cell(MILESTONE_2012_02, "upper", " 1050000.0 ", text)
    df = load_observations(write(tmp_path, text))
    assert df.loc[df["kind"] == "milestone", "value"].iloc[0] == 1_000_000


@pytest.mark.parametrize("cell", ["", "customers", "Subscribers"])
def test_unknown_quantity(tmp_path: Path, cell: str) -> None:
    path = write(tmp_path, with_cell(AUDITED_2009_09, "quantity", cell))
    problem = "missing quantity" if not cell else "unknown quantity"
    with pytest.raises(DataValidationError, match=where(path, 5, "quantity") + problem):
        load_observations(path)


@pytest.mark.parametrize("cell", ["", "audited", "estimate"])
def test_unknown_kind(tmp_path: Path, cell: str) -> None:
    path = write(tmp_path, with_cell(AUDITED_2009_09, "kind", cell))
    problem = "missing kind" if not cell else "unknown kind"
    with pytest.raises(DataValidationError, match=where(path, 5, "kind") + problem):
        load_observations(path)


def test_activity_statement_needs_active_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, with_cell(AUDITED_2009_09, "kind", "activity_statement"))
    with pytest.raises(
        DataValidationError,
        match=where(path, 5, "kind") + "kind 'activity_statement' needs quantity 'active_numbers'",
    ):
        load_observations(path)


def test_active_numbers_need_activity_statement(tmp_path: Path) -> None:
    path = write(tmp_path, with_cell(ACTIVE_2012_02, "kind", "milestone"))
    with pytest.raises(
        DataValidationError,
        match=where(path, 16, "kind") + "quantity 'active_numbers' needs kind 'activity_statement'",
    ):
        load_observations(path)


def test_lower_above_value(tmp_path: Path) -> None:
    path = write(tmp_path, with_cell(MILESTONE_2012_02, "lower", "1000001"))
    with pytest.raises(
        DataValidationError, match=where(path, 15, "lower") + "lower bound 1000001 is above"
    ):
        load_observations(path)


def test_upper_below_value(tmp_path: Path) -> None:
    path = write(tmp_path, with_cell(MILESTONE_2012_02, "upper", "999999"))
    with pytest.raises(
        DataValidationError, match=where(path, 15, "upper") + "upper bound 999999 is below"
    ):
        load_observations(path)


def test_lower_not_below_upper(tmp_path: Path) -> None:
    path = write(tmp_path, with_cell(MILESTONE_2012_02, "upper", "1000000"))
    with pytest.raises(DataValidationError, match=where(path, 15, "upper") + "must be below"):
        load_observations(path)


def test_one_sided_bounds_are_fine(tmp_path: Path) -> None:
    df = load_observations(write(tmp_path, with_cell(MILESTONE_2012_02, "upper", "")))
    assert df["upper"].isna().sum() == 12


@pytest.mark.parametrize("cell", ["", "   "])
def test_missing_source(tmp_path: Path, cell: str) -> None:
    path = write(tmp_path, with_cell(AUDITED_2009_09, "source", cell))
    with pytest.raises(DataValidationError, match=where(path, 5, "source") + "missing source"):
        load_observations(path)


@pytest.mark.parametrize("value", ["1000000", "1200000"])
def test_active_share_not_below_one(tmp_path: Path, value: str) -> None:
    text = with_cell(ACTIVE_2012_02, "value", value)
    text = with_cell(ACTIVE_2012_02, "upper", "1300000", text)
    path = write(tmp_path, text)
    with pytest.raises(
        DataValidationError,
        match=where(path, 16, "value")
        + r".*subscribers of row 15.*active share must lie in \(0, 1\)",
    ):
        load_observations(path)


def test_active_share_without_subscribers_row(tmp_path: Path) -> None:
    path = write(tmp_path, with_cell(ACTIVE_2012_02, "date", "2012-02-03"))
    with pytest.raises(
        DataValidationError,
        match=where(path, 16, "date") + "no subscribers row on 2012-02-03.*cannot be formed",
    ):
        load_observations(path)


def test_active_share_with_two_subscribers_rows(tmp_path: Path) -> None:
    rows = rows_of(BUNDLED)
    extra = list(rows[MILESTONE_2012_02 - 1])
    extra[3] = "rounded_statement"
    path = write(tmp_path, to_csv([*rows, extra]))
    with pytest.raises(DataValidationError, match=where(path, 16, "date") + "ambiguous"):
        load_observations(path)


def test_exact_duplicate_row(tmp_path: Path) -> None:
    rows = rows_of(BUNDLED)
    path = write(tmp_path, to_csv([*rows, rows[AUDITED_2009_09 - 1]]))
    with pytest.raises(
        DataValidationError, match=where(path, 20) + r"duplicate row, same as row 5$"
    ):
        load_observations(path)


def test_duplicate_observation_with_different_value(tmp_path: Path) -> None:
    rows = rows_of(BUNDLED)
    copy = list(rows[AUDITED_2009_09 - 1])
    copy[1] = "69000"
    path = write(tmp_path, to_csv([*rows[:7], copy, *rows[7:]]))  # the copy is row 8
    with pytest.raises(
        DataValidationError,
        match=where(path, 8, "value") + "duplicate .*different value: 69000 here, 69261 in row 5",
    ):
        load_observations(path)


def test_duplicate_observation_with_different_source(tmp_path: Path) -> None:
    rows = rows_of(BUNDLED)
    copy = list(rows[AUDITED_2009_09 - 1])
    copy[6] = "someone else"
    path = write(tmp_path, to_csv([*rows, copy]))
    with pytest.raises(DataValidationError, match=where(path, 20, "source") + "duplicate"):
        load_observations(path)


# --------------------------------------------------------------------------- other files


def test_demography_errors(tmp_path: Path) -> None:
    text = BUNDLED_DEMOGRAPHY.read_text("utf-8")
    rows = rows_of(text)
    cases = [
        (3, 0, "population_total_census", "quantity", "already given in row 2"),
        (5, 1, "1.2", "value", r"share must lie in \(0, 1\)"),
        (2, 1, "24,052,231", "value", "thousands separators"),
        (2, 1, "-3", "value", "must be positive"),
        (2, 2, "2008-10-32", "date", "not a calendar date"),
        (2, 2, "2008-13", "date", "not a calendar month"),
        (2, 2, "Oct 2008", "date", "not a date"),
        (2, 3, "", "source", "missing source"),
        (2, 0, "Total Population", "quantity", "not a quantity name"),
    ]
    for row, col, cell, column, problem in cases:
        broken = [list(r) for r in rows]
        broken[row - 1][col] = cell
        path = write(tmp_path, to_csv(broken), "demo.csv")
        with pytest.raises(DataValidationError, match=where(path, row, column) + problem):
            load_demography(path)


def test_network_errors(tmp_path: Path) -> None:
    rows = rows_of(BUNDLED_NETWORK.read_text("utf-8"))
    cases = [
        (3, 2, "1.2", "population_coverage", r"share in \(0, 1\]"),
        (2, 1, "153.5", "base_stations", "whole number"),
        (4, 0, "2010-06-30", "date", "already given in row 3"),
        (2, 5, "", "source_note", "missing source note"),
        (2, 1, "", "base_stations", "row has no numbers"),
        (5, 3, "abc", "monthly_arpu_usd", "not a number"),
    ]
    for row, col, cell, column, problem in cases:
        broken = [list(r) for r in rows]
        broken[row - 1][col] = cell
        path = write(tmp_path, to_csv(broken), "net.csv")
        with pytest.raises(DataValidationError, match=where(path, row, column) + problem):
            load_network(path)


# --------------------------------------------------------------------------- property test

BUNDLED_ROWS = rows_of(BUNDLED)[1:]
TRICKY = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "1e3",
    "1e6",
    "1,000",
    "nan",
    "inf",
    "1_000",
    "+5",
    ".5",
    "5.",
    "00012",
    "9" * 25,
    "800000",
    "1000000",
    "2000000",
    "\uff11\uff12",
    "2008-12-31",
    "2012-02-02",
    "2008-02-30",
    "2008-2-3",
    "subscribers",
    "active_numbers",
    "milestone",
    "activity_statement",
    "audited_quarterly",
    '"',
    "\n",
    "\r",
    "x,y",
    "\x00",
    "\ufeff",
]
CELLS = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=10),
)


def chance(draw: st.DrawFn, one_in: int) -> bool:
    """True with probability 1/one_in (sampled_from is uniform, unlike integers)."""
    return draw(st.sampled_from(range(one_in))) == one_in - 1


@st.composite
def observation_files(draw: st.DrawFn) -> bytes:
    """Mostly valid files built from bundled rows, with a few broken cells or columns."""
    columns = list(draw(st.permutations(OBSERVATION_COLUMNS)))
    if chance(draw, 5):
        columns.remove(draw(st.sampled_from(columns)))
    if chance(draw, 10):
        columns.insert(draw(st.integers(0, len(columns))), draw(CELLS))
    picks = draw(
        st.lists(st.sampled_from(range(len(BUNDLED_ROWS))), min_size=1, max_size=8, unique=True)
    )
    rows = []
    for i in sorted(picks) if chance(draw, 2) else picks:
        record = dict(zip(OBSERVATION_COLUMNS, BUNDLED_ROWS[i], strict=True))
        rows.append([record.get(c, draw(CELLS)) for c in columns])
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        if rows and columns:
            row = draw(st.sampled_from(range(len(rows))))
            rows[row][draw(st.sampled_from(range(len(columns))))] = draw(CELLS)
    if chance(draw, 8):
        rows.append(list(draw(st.sampled_from(rows)))) if rows else None
    if chance(draw, 4):  # naive joining: unquoted commas, quotes and newlines break the CSV
        text = "\n".join(",".join(r) for r in [columns, *rows])
    else:
        text = to_csv([columns, *rows])
    data = text.encode("utf-8")
    if chance(draw, 10):
        position = draw(st.integers(0, len(data)))
        data = data[:position] + draw(st.binary(min_size=1, max_size=3)) + data[position:]
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=observation_files())
def test_loader_returns_valid_frame_or_raises_validation_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("property") / "obs.csv"
    path.write_bytes(data)
    try:
        df = load_observations(path)
    except DataValidationError as exc:
        assert str(exc).startswith(str(path))
        assert "\n" not in str(exc)
        return
    assert len(df) > 0 and list(df.index) == list(range(len(df)))
    assert list(df.columns) == list(OBSERVATION_COLUMNS)
    assert np.isfinite(df["value"]).all() and (df["value"] > 0).all()
    assert (df["value"] % 1 == 0).all()
    assert df["kind"].isin(KINDS).all() and df["quantity"].isin(QUANTITIES).all()
    assert df["date"].dtype == np.dtype("datetime64[ns]") and df["date"].is_monotonic_increasing
    assert not (df["lower"] > df["value"]).any() and not (df["upper"] < df["value"]).any()
    assert (df["source"].str.len() > 0).all()
    assert not df.duplicated(["date", "quantity", "kind"]).any()
    shares = active_share_observation(df)
    assert ((shares["share"] > 0) & (shares["share"] < 1)).all()
    assert re.fullmatch(r"[0-9a-f]{64}", data_hash(df))
