"""The package's own exceptions: every user-facing failure is one of these.

The CLI prints ``str(error)`` as a single line and exits with ``error.exit_code``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

MESSAGE_LIMIT = 300  # characters of a nested error quoted inside another message


def one_line(text: object, limit: int | None = None) -> str:
    """Return ``str(text)`` on one line, cut to ``limit`` characters when given.

    Line breaks and the blanks around them become one space.
    """
    line = re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()
    return line if limit is None else line[:limit]


class KoryoError(Exception):
    """Base class for errors a user can act on (bad input, bad config, bad file)."""

    exit_code = 2


class DataValidationError(KoryoError):
    """A data file breaks the schema: the message names the file, row and column."""

    def __init__(self, file: str, problem: str, row: int | None = None, column: str | None = None):
        self.file, self.row, self.column, self.problem = file, row, column, problem
        where = [str(file)]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {problem}")


class ConfigError(KoryoError):
    """A model configuration is invalid (unknown key, wrong type, bad prior parameter)."""


class ObservationWindowError(DataValidationError, ConfigError):
    """An observation falls outside the config's time window (launch, horizon].

    Both a data and a config problem (drop the row or move ``time.horizon``), so it can be
    caught as either; the message names the file, row and column like any data error.
    """


class ResultFileError(KoryoError):
    """A saved run cannot be trusted or read (truncated, foreign, wrong version, bad hash)."""


class OutputPathError(ResultFileError):
    """An output location cannot be written.

    A directory where a file is wanted, a folder that cannot be created or written, or an
    existing file without ``--force``. Raised before any data are read or any model is
    compiled.
    """


class ClusterError(KoryoError):
    """A Dask cluster cannot run a sweep: Dask missing, no workers, or threaded workers."""


class ConvergenceError(KoryoError):
    """Sampling diagnostics miss a convergence threshold (``bayes_koryo.inference.diagnostics``)."""

    exit_code = 3


class ThresholdError(KoryoError):
    """A saved run misses a convergence or predictive threshold (``bayes-koryo check``).

    Exit code 1.
    """

    exit_code = 1


def did_you_mean(key: object, allowed: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest of ``allowed`` to ``key``, else ''."""
    match = difflib.get_close_matches(str(key), list(allowed), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""
