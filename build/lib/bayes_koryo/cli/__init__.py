"""The ``bayes-koryo`` command line.

Commands: ``data`` (show the validated observations), ``cite`` (BibTeX for the package and
every data source), ``fit``, ``run``, ``report`` (md, latex, html, csv, json), ``plot``
(publication figures), ``forecast`` (any date up to the horizon), ``check``,
``sensitivity-table`` (power-scaling, contraction, overlap of a run), ``sensitivity`` (model
variants, tornado chart), ``lfo`` (leave-future-out), ``sbc`` (simulation-based calibration)
and ``recovery`` (parameter recovery). Global option:
``--debug`` (show tracebacks), given before the command.

Exit codes:

* 0 - success;
* 1 - internal error (a bug: ``error: internal error: <type>: <msg>``); for ``check``: a
  threshold failed, and for ``sbc``: a test quantity's rank ECDF left its simultaneous 95%
  band (both :class:`~bayes_koryo.errors.ThresholdError`);
* 2 - bad input, configuration or file (any :class:`~bayes_koryo.errors.KoryoError` with
  that code, and command-line usage errors);
* 3 - ``fit``/``run``: sampling diagnostics failed
  (:class:`~bayes_koryo.errors.ConvergenceError`);
* 130 - interrupted.

Every failure prints exactly one line ``error: <message>`` to stderr; ``--debug`` adds the
traceback. All of this lives in :func:`main`; commands just raise ``KoryoError``s.

Adding a command: decorate a function with ``@app.command()``, import heavy modules (the model)
inside it so that ``data``/``cite`` stay fast, raise a ``KoryoError`` subclass for anything the
user can fix, and print tabular results with :func:`print_frame`.
"""

# importing the command modules registers their commands on ``app``
from bayes_koryo.cli import data, fitting, reporting, validation  # noqa: F401
from bayes_koryo.cli.app import main
from bayes_koryo.cli.common import app

__all__ = ["app", "main"]
