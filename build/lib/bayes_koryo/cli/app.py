"""The entry point: the root callback and :func:`main`.

:func:`main` turns every failure into one line and an exit code (see :mod:`bayes_koryo.cli`).
"""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING, Annotated

import typer

from bayes_koryo.cli.common import PROG, app
from bayes_koryo.errors import KoryoError, one_line
from bayes_koryo.version import __version__

if TYPE_CHECKING:
    from click import ClickException
    from typer import TyperException

    # a usage or CLI error of typer or of click: both have ``format_message``
    _CliError = TyperException | ClickException


class _State:
    """Options of the root callback, readable from :func:`main` after a failure."""

    debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of any error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Bayesian estimate of the unique people behind Koryolink's reported subscriber counts."""
    _State.debug = debug


# --------------------------------------------------------------------------- entry point


def _framework_errors() -> tuple[tuple[type[_CliError], ...], tuple[type[BaseException], ...]]:
    """Return the (usage/CLI error, abort) types of typer, and of click if typer still uses it."""
    errors: list[type[_CliError]] = []
    aborts: list[type[BaseException]] = [KeyboardInterrupt]
    if hasattr(typer, "TyperException"):  # typer >= 0.22 vendors click
        errors.append(typer.TyperException)
    aborts.append(typer.Abort)
    try:
        import click
    except ImportError:  # pragma: no cover
        pass
    else:
        errors.append(click.ClickException)
        aborts.append(click.Abort)
    return tuple(errors), tuple(aborts)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    The one place where errors become messages: a ``KoryoError`` prints
    ``error: <message>`` and returns its ``exit_code``; usage errors return 2; anything
    else is an internal error (1). ``--debug`` adds the traceback.
    """
    _State.debug = False
    cli_errors, aborts = _framework_errors()
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name=PROG, standalone_mode=False)
        return result if type(result) is int else 0
    except KoryoError as exc:
        if _State.debug:
            traceback.print_exc()
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except cli_errors as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `bayes-koryo`: show the help
            sys.stdout.write(exc.format_message() + "\n")
            return 0
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"error: {one_line(exc.format_message())}{hint}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except aborts:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if _State.debug:
            traceback.print_exc()
        print(
            f"error: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
