"""Progress of long commands: a rich bar on a terminal, plain lines in a log, nothing quiet."""

from __future__ import annotations

import io
import sys

from bayes_koryo.cli.common import progress_reporter, show_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_count_elapsed_and_time_left(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert show_progress(quiet=False) and not show_progress(quiet=True)
    with progress_reporter("simulations") as progress:
        for done in (1, 2, 3):
            progress(done, 3)
    text = terminal.getvalue()
    assert "simulations" in text and "3/3" in text and "elapsed" in text and "left" in text


def test_a_log_gets_one_plain_line_per_update_and_quiet_gets_nothing(capsys):
    with progress_reporter("refits") as progress:
        progress(1, 2)
        progress(2, 2)
    assert capsys.readouterr().err == "  1/2 refits done\n  2/2 refits done\n"
    assert not show_progress(quiet=False)  # pytest's captured stderr is not a terminal
    with progress_reporter("refits", quiet=True) as progress:
        progress(1, 2)
    assert capsys.readouterr().err == ""
