"""Reliability: bad data, as an adversary would write it.

Files through ``load_observations`` and ``--data``, DataFrames through the Python API; every
failure must be a KoryoError with one line naming file, row and column — never another
exception, never a silently wrong table.
"""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_koryo import cli
from bayes_koryo.data import (
    MAX_DATA_ROWS,
    MAX_FILE_BYTES,
    OBSERVATION_COLUMNS,
    OBSERVATIONS_FILE,
    check_observation_frame,
    load_observations,
)
from bayes_koryo.errors import (
    ConfigError,
    DataValidationError,
    KoryoError,
    ObservationWindowError,
)
from bayes_koryo.model.config import default_config
from bayes_koryo.model.graph import build_model
from bayes_koryo.study import KINDS, QUANTITIES

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "models" / "baseline.toml"
BUNDLED = resources.files("bayes_koryo.data").joinpath(OBSERVATIONS_FILE).read_text("utf-8")
ROWS = list(csv.reader(io.StringIO(BUNDLED)))
HEADER, DATA = ROWS[0], ROWS[1:]


def to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def row_with(**cells: str) -> list[str]:
    """A valid audited row (the first bundled one) with some cells replaced."""
    row = dict(zip(HEADER, DATA[0], strict=True))
    row.update(cells)
    return [row[c] for c in HEADER]


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text
    return text


# --------------------------------------------------------------------------- time window


def test_observation_after_the_horizon_names_file_row_and_column(tmp_path):
    """The row number is the line in the file, even though the loader sorts the rows."""
    late = row_with(date="2017-03-31", value="3000000")
    rows = [HEADER, DATA[3], late, *DATA[:3], *DATA[4:]]
    path = tmp_path / "late.csv"
    path.write_text(to_csv(rows))
    observations = load_observations(path)  # the loader has no horizon to check
    with pytest.raises(ObservationWindowError) as info:
        build_model(observations, default_config())
    message = one_line(info.value)
    assert message.startswith(f"{path}, row 3, column 'date': date 2017-03-31 is after")
    assert "time.horizon" in message
    # a data problem and a config problem at once: callers may catch either
    assert isinstance(info.value, DataValidationError) and isinstance(info.value, ConfigError)


def test_horizon_before_the_last_bundled_observation_is_a_config_error():
    config = default_config().replace(time={"horizon": "2012-12-31"})
    observations = load_observations()
    with pytest.raises(
        ConfigError,
        match=r"row \d+, column 'date': date 2013-\d\d-\d\d is "
        r"after the model's window \(2008-12-15, 2012-12-31\]",
    ):
        build_model(observations, config)


def test_dates_before_launch_are_refused_by_the_loader(tmp_path):
    path = tmp_path / "early.csv"
    path.write_text(to_csv([HEADER, *DATA, row_with(date="2008-06-30", value="10")]))
    with pytest.raises(DataValidationError) as info:
        load_observations(path)
    assert one_line(info.value) == (
        f"{path}, row {len(DATA) + 2}, column 'date': date "
        "2008-06-30 is before Koryolink's launch on 2008-12-15"
    )


def test_a_figure_dated_on_launch_day_has_no_grid_point_and_is_refused(tmp_path):
    """Before the fix it silently mapped to the last grid point (get_indexer -> -1)."""
    path = tmp_path / "launch.csv"
    path.write_text(to_csv([HEADER, row_with(date="2008-12-15", value="5"), *DATA[1:]]))
    observations = load_observations(path)
    with pytest.raises(
        ObservationWindowError,
        match="row 2, column 'date': date 2008-12-15 is before the model's window",
    ):
        build_model(observations, default_config())


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "encoding, hint",
    [
        ("utf-16", "looks like UTF-16; save it as UTF-8"),
        ("utf-16-le", "looks like UTF-16; save it as UTF-8"),
        ("cp1252", "save the file as UTF-8"),
        ("latin-1", "save the file as UTF-8"),
    ],
)
def test_other_encodings_are_refused_with_a_hint(tmp_path, encoding, hint):
    rows = [HEADER, *DATA]
    rows[4] = row_with(note="Pyongyang caf\u00e9 \u00fcber \u00bd")
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(to_csv(rows).encode(encoding))
    with pytest.raises(DataValidationError) as info:
        load_observations(path)
    message = one_line(info.value)
    assert message.startswith(f"{path}, row ") and "not valid UTF-8" in message
    assert hint in message
    if encoding in ("cp1252", "latin-1"):  # the first bad byte is on line 5
        assert message.startswith(f"{path}, row 5: ")


def test_utf8_with_bom_and_crlf_equals_the_bundled_file(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + BUNDLED.replace("\n", "\r\n").encode())
    loaded, bundled = load_observations(path), load_observations()
    pd.testing.assert_frame_equal(loaded, bundled)


@pytest.mark.parametrize(
    "cell", ["1,000,000", "1 000 000", "1'000'000", "1_000_000", "1\u00a0000\u00a0000", "1.000.000"]
)
def test_thousands_separators_are_refused(tmp_path, cell):
    path = tmp_path / "sep.csv"
    path.write_text(to_csv([HEADER, row_with(value=cell), *DATA[1:]]))
    with pytest.raises(DataValidationError) as info:
        load_observations(path)
    assert one_line(info.value).startswith(f"{path}, row 2, column 'value': ")
    assert "not a number" in str(info.value)


@pytest.mark.parametrize("separator", [";", "\t"])
def test_other_separators_are_named(tmp_path, separator):
    path = tmp_path / "semi.csv"
    path.write_text(BUNDLED.replace(",", separator))
    with pytest.raises(DataValidationError) as info:
        load_observations(path)
    assert one_line(info.value).endswith(
        f"the file seems to be separated by {separator!r}: use commas"
    )


# --------------------------------------------------------------------------- huge input


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.csv"
    line = ",".join(row_with()) + "\n"
    with path.open("w") as fh:
        fh.write(",".join(HEADER) + "\n")
        fh.write(line * (10 * MAX_FILE_BYTES // len(line)))  # ~50 MB, ~500k rows
    tracemalloc.start()
    try:
        with pytest.raises(DataValidationError, match="larger than 5,000,000 bytes") as info:
            load_observations(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_line(info.value)
    assert peak < 3 * MAX_FILE_BYTES  # at most the limit is read, never the 50 MB


def test_too_many_rows_under_the_byte_limit_are_refused(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("date,value,quantity,kind,source\n" + "x,1,y,z,w\n" * 100_000)
    assert path.stat().st_size < MAX_FILE_BYTES
    with pytest.raises(DataValidationError) as info:
        load_observations(path)
    assert one_line(info.value) == (
        f"{path}, row {MAX_DATA_ROWS + 2}: more than 10,000 data "
        "rows; not a table of reported figures"
    )


def test_an_endless_device_is_refused():
    with pytest.raises(DataValidationError, match="larger than"):
        load_observations("/dev/zero")


@pytest.mark.parametrize("path", ["/", "/nonexistent/obs.csv"])
def test_directories_and_missing_paths(path):
    with pytest.raises(DataValidationError, match=f"^{re.escape(path)}: cannot read file"):
        load_observations(path)


# --------------------------------------------------------------------------- DataFrames


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda df: df.drop(columns="kind"), "missing column.*'kind'"),
        (
            lambda df: df.assign(date=df["date"].dt.strftime("%Y-%m-%d")),
            "column 'date'.*datetime64",
        ),
        (
            lambda df: df.assign(value=df["value"].astype(str)),
            "column 'value': column must be numeric",
        ),
        (
            lambda df: df.assign(value=-df["value"]),
            r"row 2, column 'value': value must be a "
            r"finite positive count",
        ),
        (lambda df: df.assign(upper=df["upper"].fillna(np.inf)), "column 'upper'.*finite positive"),
        (
            lambda df: df.assign(kind=df["kind"].astype(str).replace("milestone", "rumour")),
            "unknown kind 'rumour'",
        ),
        (lambda df: df.iloc[:0], "no observations"),
        (lambda df: df.to_dict(), "expected a pandas DataFrame"),
    ],
)
def test_dataframes_given_to_the_model_are_checked(mutate, match):
    broken = mutate(load_observations())
    with pytest.raises(DataValidationError, match=match) as info:
        build_model(broken, default_config())
    one_line(info.value)


# --------------------------------------------------------------------------- the CLI


def test_cli_fit_with_broken_data_prints_one_line_and_exits_2(capsys, tmp_path):
    cases = {
        "late.csv": to_csv([HEADER, *DATA, row_with(date="2019-01-31", value="4000000")]),
        "sep.csv": to_csv([HEADER, row_with(value="1,000,000"), *DATA[1:]]),
        "unquoted.csv": ",".join(HEADER) + "\n" + ",".join(row_with(value="1,000,000")) + "\n",
        "empty.csv": "",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        out = tmp_path / f"{name}.nc"
        code = cli.main(["fit", str(BASELINE), "--data", str(path), "--out", str(out)])
        _, err = capsys.readouterr()
        assert code == 2, (name, err)
        assert err.startswith(f"error: {path}") and err.count("\n") == 1, err
        assert not out.exists()


# --------------------------------------------------------------------------- property tests

CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1,000,000",
            "1e400",
            "nan",
            "2008-12-14",
            "2008-12-15",
            "2017-01-01",
            "9999-12-31",
            "0001-01-01",
            "2012-02-30",
            "subscribers",
            "active_numbers",
            "milestone",
            "activity_statement",
            "\ufeff",
            "\x00",
            '"',
            "\r\n",
            "\u2028",
            "800000",
            "2000000",
        ]
    ),
    st.text(max_size=12),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252", "shift_jis"]


@st.composite
def hostile_files(draw) -> bytes:
    """Tables in any encoding, with any delimiter, shuffled, padded, cut or repeated."""
    columns = draw(
        st.one_of(
            st.just(list(HEADER)),
            st.permutations(HEADER).map(list),
            st.lists(st.sampled_from([*HEADER, "Date", "val", ""]), max_size=10),
        )
    )
    base = [dict(zip(HEADER, r, strict=True)) for r in DATA]
    rows = [
        [rec.get(c, "") for c in columns]
        for rec in draw(st.lists(st.sampled_from(base), max_size=12))
    ]
    for _ in range(draw(st.integers(0, 4))):
        if rows and columns:
            i = draw(st.integers(0, len(rows) - 1))
            rows[i][draw(st.integers(0, len(columns) - 1))] = draw(CELLS)
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    buffer = io.StringIO()
    csv.writer(
        buffer, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))
    ).writerows([columns, *rows])
    text = buffer.getvalue()
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return data if cut is None else data[:cut]


def _assert_valid_table(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(OBSERVATION_COLUMNS) and len(df) > 0
    assert (df["value"] > 0).all() and np.isfinite(df["value"]).all()
    assert df["kind"].isin(KINDS).all() and df["quantity"].isin(QUANTITIES).all()
    assert (df["date"] >= pd.Timestamp("2008-12-15")).all()
    assert len(df.attrs["source_rows"]) == len(df)
    check_observation_frame(df)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hostile_files())
def test_hostile_files_give_a_valid_table_or_a_koryo_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("hostile") / "obs.csv"
    path.write_bytes(data)
    try:
        df = load_observations(path)
    except KoryoError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    _assert_valid_table(df)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_give_a_valid_table_or_a_koryo_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "obs.csv"
    path.write_bytes(data)
    try:
        df = load_observations(path)
    except KoryoError as exc:
        assert "\n" not in str(exc)
        return
    _assert_valid_table(df)


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.dates().map(pd.Timestamp),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(OBSERVATION_COLUMNS), st.integers(0, 18), VALUES), max_size=3
    ),
    drop=st.lists(st.sampled_from(OBSERVATION_COLUMNS), max_size=2),
)
def test_edited_dataframes_pass_the_frame_check_or_raise_a_koryo_error(edits, drop):
    df = load_observations()
    for column, i, value in edits:
        df[column] = df[column].astype(object)
        df.loc[i % len(df), column] = value
    df = df.drop(columns=sorted(set(drop)))
    try:
        check_observation_frame(df)
    except KoryoError as exc:
        assert "\n" not in str(exc)
        return
    assert pd.api.types.is_datetime64_any_dtype(df["date"])
    assert (df["value"].astype(float) > 0).all()
