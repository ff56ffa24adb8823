"""Atomic file writes: a result file is either absent, the old one, or the complete new one.

The content goes to a temporary file beside the target (``.NAME.PID.XXXXXX.tmp``), is
flushed to disk, and is then moved into place in one step (``os.replace``, or ``os.link``
when an existing file must not be overwritten, which makes the existence check itself
atomic: of two concurrent writers without ``overwrite`` exactly one succeeds).

A process killed mid-write leaves only its temporary file, never a partial target; the next
write to the same target removes temporary files whose writing process no longer exists.
Readers never look at ``.*.tmp`` files. Files get the permissions of an ordinary new file
(``0666`` less the process umask, e.g. ``0644`` under umask 022), not the ``0600`` of a
temporary file.

``check_output_file`` / ``check_output_dir`` test an output location before any work is
done (the commands call them before reading data or compiling).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "check_output_dir",
    "check_output_file",
    "clean_stale_temps",
    "new_file_mode",
    "replace_marked_block",
    "temp_files",
]


def _temp_re(path: Path) -> re.Pattern[str]:
    return re.compile(re.escape(f".{path.name}.") + r"(?P<pid>[0-9]+)\.[^/]*\.tmp")


def temp_files(path: str | Path) -> list[Path]:
    """Temporary files of writes to ``path`` (live or left by a killed process)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = _temp_re(path)
    return sorted(p for p in path.parent.iterdir() if pattern.fullmatch(p.name))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid < 2**31  # another user's live process (or a nonsense pid: not alive)
    return True


def clean_stale_temps(path: str | Path) -> list[Path]:
    """Remove temporary files of ``path`` whose writing process has died; returns them."""
    path = Path(path)
    removed = []
    for temp in temp_files(path):
        match = _temp_re(path).fullmatch(temp.name)
        if match and not _alive(int(match["pid"])):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
                removed.append(temp)
    return removed


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def new_file_mode() -> int:
    """Permission bits of an ordinary new file in this process: 0o666 less the umask."""
    umask = os.umask(0o022)  # reading the umask means setting it; put it back at once
    os.umask(umask)
    return 0o666 & ~umask


def _output_error(path: Path, problem: str):
    from bayes_koryo.errors import OutputPathError

    return OutputPathError(f"{path}: {problem}")


def check_output_dir(directory: str | Path) -> Path:
    """Make sure files can be written into ``directory``, and return it as a Path.

    Creates the folder (with its parents) if needed, then writes and removes a probe file
    there. Raises ``OutputPathError`` (one line).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise _output_error(directory, "exists and is not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(
            directory, f"cannot create this folder ({exc.strerror or exc})"
        ) from None
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-probe.", suffix=".tmp"):
            pass
    except OSError as exc:
        raise _output_error(
            directory, f"cannot write in this folder ({exc.strerror or exc})"
        ) from None
    return directory


def check_output_file(path: str | Path, overwrite: bool = False) -> Path:
    """Make sure ``path`` can be written as a file, and return it as a Path.

    The path must not be a folder, nor an existing file unless ``overwrite``, and its folder
    must be creatable and writable (``check_output_dir``). Raises ``OutputPathError`` (one
    line, exit code 2).
    """
    path = Path(path)
    if path.is_dir():
        raise _output_error(path, "is a folder; give a file name")
    if path.exists() and not overwrite:
        raise _output_error(path, "exists already (use --force to overwrite)")
    try:
        check_output_dir(path.parent)
    except Exception as exc:  # name the file the user gave, then the folder's problem
        raise _output_error(path, f"cannot be written: {exc}") from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes ``path`` in one step.

    With ``overwrite=False`` an existing ``path`` (even one created meanwhile by another
    process) raises ``FileExistsError`` and is left untouched. On any failure, including
    KeyboardInterrupt, the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    fd, name = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, new_file_mode())  # mkstemp creates 0600 files
        with open(temp, "rb") as fh:
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)  # fails if path exists: no check-then-write race
            except FileExistsError:
                raise
            except OSError:  # no hard links on this file system
                if path.exists():
                    raise FileExistsError(path) from None
                os.replace(temp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def atomic_write_text(path: str | Path, text: str, overwrite: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`atomic_path`."""
    with atomic_path(path, overwrite=overwrite) as temp:
        temp.write_text(text, encoding="utf-8")
    return Path(path)


def replace_marked_block(path: str | Path, begin: str, end: str, body: str) -> Path:
    """Replace everything between the marker lines ``begin`` and ``end`` of a text file.

    The text between the markers of ``path`` becomes ``body`` (markers kept), atomically:
    how generated tables get into README.md, MODEL.md and BENCHMARKS.md. Returns the path.
    Raises ValueError naming the file when a marker is missing or occurs twice, or when
    ``end`` comes before ``begin``.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{path}: needs exactly one {begin} ... {end} block")
    before, rest = text.split(begin, 1)
    after = rest.split(end, 1)[1]
    return atomic_write_text(path, f"{before}{begin}\n{body.rstrip(chr(10))}\n{end}{after}")
