"""Tests of the ``bayes-koryo`` CLI: ``data``, ``cite`` and the error handling of ``main``."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from bayes_koryo import __version__, cli
from bayes_koryo.cli import data as cli_data
from bayes_koryo.data import data_hash, load_demography, load_observations

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = resources.files("bayes_koryo.data").joinpath("koryolink_reported_2008_2013.csv")
URL_38NORTH = "http://38north.org/2013/11/ykim112613/"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bayes_koryo.cli ARGS`` in a fresh process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "bayes_koryo.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main(args)`` in this process: (exit code, stdout, stderr)."""
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    """The bundled observations with '1,000,000' as the value of row 15 (a milestone)."""
    lines = BUNDLED.read_text("utf-8").splitlines()
    assert lines[14].startswith("2012-02-02,1000000,subscribers")
    lines[14] = lines[14].replace(",1000000,", ',"1,000,000",', 1)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- errors


def test_bad_data_one_line_exit_2(bad_file: Path) -> None:
    result = run("data", "--data", str(bad_file))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert f"{bad_file}, row 15, column 'value':" in lines[0]
    assert "thousands separators are not allowed" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_data_with_debug_shows_traceback(bad_file: Path) -> None:
    result = run("--debug", "data", "--data", str(bad_file))
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "DataValidationError" in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: ") and "row 15, column 'value'" in last


@pytest.mark.parametrize("command", ["data", "cite"])
def test_bad_data_in_process(
    capsys: pytest.CaptureFixture[str], bad_file: Path, command: str
) -> None:
    code, out, err = call(capsys, command, "--data", str(bad_file))
    assert code == 2 and out == ""
    assert err == f"error: {bad_file}, row 15, column 'value': " + (
        "'1,000,000' is not a number: thousands separators are not allowed (write 1000000)\n"
    )


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = call(capsys, "data", "--data", str(tmp_path / "none.csv"))
    assert code == 2
    assert (
        err.startswith(f"error: {tmp_path / 'none.csv'}: cannot read file") and err.count("\n") == 1
    )


@pytest.mark.parametrize(
    "args",
    [["data", "--format", "xml"], ["data", "--bogus"], ["no-such-command"], ["--debug"]],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _out, err = call(capsys, *args)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_internal_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(path: object = None) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(cli_data, "load_observations", broken)
    code, _out, err = call(capsys, "data")
    assert code == 1
    assert err == (
        "error: internal error: ZeroDivisionError: boom (rerun with --debug for the traceback)\n"
    )
    code, _out, err = call(capsys, "--debug", "data")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "--version")
    assert code == 0 and out == f"bayes-koryo {__version__}\n"
    code, out, _ = call(capsys)
    assert code == 0 and "data" in out and "cite" in out
    code, out, _ = call(capsys, "data", "--help")
    assert code == 0 and "--format" in out


# --------------------------------------------------------------------------- data


def test_data_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "data", "--format", "json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert len(rows) == 18
    assert [r["date"] for r in (rows[0], rows[-1])] == ["2008-12-31", "2013-05-28"]
    fields = ["date", "value", "quantity", "kind", "lower", "upper", "source", "url", "note"]
    assert all(list(r) == fields for r in rows)
    assert all(isinstance(r["source"], str) and r["source"] for r in rows)
    assert rows[0]["lower"] is None and rows[0]["value"] == 1694
    active = [r for r in rows if r["quantity"] == "active_numbers"]
    assert active == [
        {
            **active[0],
            "date": "2012-02-02",
            "value": 800000,
            "lower": 750000,
            "upper": 850000,
            "url": URL_38NORTH,
        }
    ]


def test_data_json_subprocess() -> None:
    result = run("data", "-f", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 18 and all(r["source"] for r in rows)


def test_data_csv_round_trips(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = call(capsys, "data", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert len(rows) == 19 and rows[0][:4] == ["date", "value", "quantity", "kind"]
    assert rows[1][:2] == ["2008-12-31", "1694"]
    path = tmp_path / "out.csv"
    path.write_text(out, encoding="utf-8")
    assert data_hash(load_observations(path)) == data_hash(load_observations())


def test_data_md(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "data", "--format", "md")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 20
    assert lines[0] == "| date | value | quantity | kind | lower | upper | source | url | note |"
    assert re.fullmatch(r"\|(---\|){9}", lines[1])
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[2:])
    assert all(line.count(" | ") == 8 for line in lines[2:])  # no unescaped pipes in cells
    assert URL_38NORTH in out


def test_data_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "data")
    assert code == 0
    assert "18 observations" in out
    assert "2013-05-28" in out and "1,694" in out and "Orascom Q1-2009 release" in out


# --------------------------------------------------------------------------- cite

ENTRY = re.compile(r"@([a-z]+)\{([^,\s{}]+),\n")
FIELD = re.compile(r"\s*([a-z]+) = \{")


def parse_bibtex(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """A small strict BibTeX reader: entries ``@type{key,`` of ``name = {value},`` lines."""
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "unbalanced braces"
    assert depth == 0, "unbalanced braces"
    entries = []
    pos = 0
    while (start := text.find("@", pos)) != -1:
        assert text[pos:start].strip() == "", f"junk between entries: {text[pos:start]!r}"
        head = ENTRY.match(text, start)
        assert head, f"bad entry head at {text[start : start + 40]!r}"
        pos = head.end()
        fields: dict[str, str] = {}
        while True:
            if (end := re.match(r"\s*\}\s*", text[pos:])) is not None:
                pos += end.end()
                break
            field = FIELD.match(text, pos)
            assert field, f"bad field at {text[pos : pos + 40]!r}"
            depth, i = 1, field.end()
            while depth:
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            name = field.group(1)
            assert name not in fields, f"field {name} twice"
            fields[name] = text[field.end() : i - 1]
            assert text[i] == ",", f"missing comma after {name}"
            pos = i + 1
        entries.append((head.group(1), head.group(2), fields))
    return entries


def unescaped_specials(value: str) -> list[str]:
    return re.findall(r"(?<!\\)[&%_#$]", value)


def test_cite_is_valid_bibtex(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "cite")
    assert code == 0 and err == ""
    entries = parse_bibtex(out)
    keys = [key for _, key, _ in entries]
    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_:.-]*", key) for key in keys)
    assert entries[0][:2] == ("software", "bayes_koryo")
    assert entries[0][2]["version"] == __version__
    obs, demo = load_observations(), load_demography()
    sources = {(s, u) for s, u in zip(obs["source"], obs["url"], strict=True)}
    sources |= {(s, u) for s, u in zip(demo["source"], demo["url"], strict=True)}
    assert len(entries) == 1 + len(sources)
    for kind, key, fields in entries:
        assert kind in {"software", "misc", "article"}
        assert {"title", "year"} <= set(fields), key
        assert re.fullmatch(r"\d{4}", fields["year"]), key
        assert "howpublished" in fields or "note" in fields, key
        for name, value in fields.items():
            if name != "url" and "\\url{" not in value:
                assert not unescaped_specials(value), (key, name, value)
    urls = {fields.get("url") for _, _, fields in entries}
    assert URL_38NORTH in urls
    assert "https://minjok.com/bbs/board.php?bo_table=social&wr_id=5485" in urls
    by_url = {fields.get("url"): fields for _, _, fields in entries}
    assert "Yonho Kim" in by_url[URL_38NORTH]["title"]
    assert "Orascom" in out and "Sawiris" in out


def test_cite_escapes_special_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = BUNDLED.read_text("utf-8").replace(
        '"Orascom Q1-2009 release, via VOA/MBN"', '"Orascom & Co: 100% of {Q1}_2009 #1 $5 ~x^"'
    )
    path = tmp_path / "obs.csv"
    path.write_text(text, encoding="utf-8")
    code, out, _ = call(capsys, "cite", "--data", str(path))
    assert code == 0
    entries = parse_bibtex(out)
    titles = [f["title"] for _, _, f in entries if "Co:" in f.get("title", "")]
    assert titles == [
        r"{Orascom \& Co: 100\% of \textbraceleft{}Q1\textbraceright{}\_2009 \#1 \$5 "
        r"\textasciitilde{}x\textasciicircum{}}"
    ]
    assert len({key for _, key, _ in entries}) == len(entries)
