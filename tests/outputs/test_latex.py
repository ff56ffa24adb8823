"""LaTeX that drops into a paper: the snippets compile with pdflatex in a plain 11pt article
with 1-inch margins (and the headline table in one column of a two-column page) without an
error or an overfull box, carry readable labels, and say what the Markdown report says."""

from __future__ import annotations

import re

import pytest
from latex_tools import PDFTOPPM, compile_document

from bayes_koryo import cli
from bayes_koryo.outputs import latex, report


@pytest.fixture(scope="module")
def rep(fitted):
    return report.build_report(fitted)


def test_every_snippet_compiles_at_both_widths_without_overfull_boxes(rep, tmp_path):
    written = latex.write_snippets(rep, tmp_path)
    assert [p.name for p in written] == list(latex.SNIPPETS)
    (tmp_path / "table_column.tex").write_text(latex.headline_table(rep, width="column"))
    compile_document(
        tmp_path,
        "one_column",
        "\n".join(
            [
                r"\input{table.tex}",
                r"\input{sentence.tex}",
                "",
                r"\input{methods.tex}",
                r"\clearpage",
                r"\input{supplement.tex}",
            ]
        ),
    )
    compile_document(
        tmp_path,
        "two_column",
        "\n".join(
            [r"\input{table_column.tex}", r"\input{sentence.tex}", "", r"\input{methods.tex}"]
        ),
        two_column=True,
    )
    if PDFTOPPM is not None:  # pages a person can look at
        assert (tmp_path / "one_column-1.png").stat().st_size > 0
        assert (tmp_path / "two_column-1.png").stat().st_size > 0


def test_a_table_that_cannot_fit_is_caught(rep, tmp_path):
    """The check can fail: the supplement's seven columns do not fit one journal column."""
    (tmp_path / "supplement.tex").write_text(latex.supplement(rep))
    with pytest.raises(AssertionError, match=r"overfull|Error|!"):
        compile_document(
            tmp_path,
            "too_narrow",
            r"\begin{minipage}{2in}\input{supplement.tex}"
            r"\end{minipage}",
        )


def test_labels_are_readable_with_units(rep):
    text = latex.headline_table(rep)
    rows = [line for line in text.splitlines() if line.endswith(r"\\")][1:]
    assert len(rows) == len(report.HEADLINE_ROWS) == 8
    labels = [row.split(" & ")[0].split("$^")[0] for row in rows]  # evidence marks cut
    assert labels[0] == "Unique users, 2 Feb 2012 (millions)"
    assert labels[1] == "Unique users, 28 May 2013 (millions)"
    assert not any(r"\_" in label for label in labels)  # no code names
    for row in latex.supplement(rep).splitlines():
        if row.endswith(r"\\") and " & " in row and not row.startswith("Quantity"):
            assert r"\_" not in row.split(" & ")[0], row
    assert "MCSE" not in text.split(r"\bottomrule")[0]  # diagnostics in the note only
    assert "Diagnostics:" in text.split(r"\bottomrule")[1]


def test_every_headline_row_carries_the_mark_of_its_evidence_label(rep):
    """A prior-driven row is marked with a dagger, a prior-data conflict with a double dagger,
    a data-driven row with nothing; the caption explains the marks."""
    text = latex.headline_table(rep)
    rows = [line for line in text.splitlines() if line.endswith(r"\\")][1:]
    table = rep.table.set_index(["quantity", "date"])
    for (name, date, _), row in zip(report.HEADLINE_ROWS, rows, strict=True):
        evidence = table.loc[(name, date if date else None), "evidence"]
        evidence = evidence.iloc[0] if hasattr(evidence, "iloc") else evidence
        label = row.split(" & ")[0]
        assert label.endswith(latex.EVIDENCE_MARKS.get(evidence, "(millions)")) or (
            evidence == "data-driven" and "dagger" not in label
        ), (name, evidence, label)
    assert latex.EVIDENCE_NOTE in text


def test_snippets_have_the_numbers_of_the_markdown_report(rep):
    markdown = report.render(rep, "md")
    assert latex.sentence_tex(rep).strip() == latex.tex_escape(rep.sentence())
    assert rep.sentence() in markdown
    assert latex.methods_tex(rep).strip() == latex.tex_escape(report.methods_text(rep))
    human = report.formatted(rep.table)
    table = latex.headline_table(rep)
    for name, date, _ in report.HEADLINE_ROWS:
        row = human[human["quantity"] == name + (f" ({date})" if date else "")].iloc[0]
        assert f" & {row['median']} & " in table and row["median"] in markdown


def test_quantities_option_and_one_line_errors(capsys, fitted, tmp_path):
    run = fitted.save(tmp_path / "run.nc")
    code = cli.main(
        [
            "report",
            str(run),
            "--format",
            "latex",
            "--quantities",
            "unique_users[2013-05-28],real_user_share",
            "--width",
            "column",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and len(re.findall(r"\\\\$", out, flags=re.M)) == 3  # header + 2 rows
    for args in (
        ["--quantities", "no_such_thing"],
        ["--width", "narrow"],
        ["--table", "everything"],
    ):
        code = cli.main(["report", str(run), "--format", "latex", *args])
        err = capsys.readouterr().err
        assert code == 2 and err.count("error:") == 1, (args, err)
    code = cli.main(["report", str(run), "--format", "md", "--width", "column"])
    assert code == 2 and "only with --format latex" in capsys.readouterr().err
    out_dir = tmp_path / "paper"
    assert cli.main(["report", str(run), "--format", "latex", "--out-dir", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(latex.SNIPPETS)
    code = cli.main(["report", str(run), "--format", "latex", "--out-dir", str(out_dir)])
    assert code == 2 and "exists already" in capsys.readouterr().err
    assert (
        cli.main(["report", str(run), "--format", "latex", "--out-dir", str(out_dir), "--force"])
        == 0
    )
