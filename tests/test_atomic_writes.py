"""Reliability: interrupted and concurrent work.

A process killed while saving leaves no partial result; concurrent saves to one path leave
one complete run; an existing result is never overwritten without --force.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from bayes_koryo import cli
from bayes_koryo.atomic import atomic_path, atomic_write_text, clean_stale_temps, temp_files
from bayes_koryo.cli.common import write_text_output
from bayes_koryo.errors import ResultFileError
from bayes_koryo.inference.fit import load_run

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- atomic writes


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_failed_write_leaves_neither_target_nor_temp(tmp_path):
    target = tmp_path / "out.md"
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_a_failed_overwrite(tmp_path):
    target = atomic_write_text(tmp_path / "out.md", "old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temp:
        temp.write_text("new but unfinished")
        raise KeyboardInterrupt
    assert target.read_text() == "old" and temp_files(target) == []


def test_stale_temps_of_dead_writers_are_cleaned_live_ones_kept(tmp_path):
    target = tmp_path / "run.nc"
    stale = tmp_path / f".run.nc.{_dead_pid()}.abc123.tmp"
    live = tmp_path / f".run.nc.{os.getppid()}.def456.tmp"
    other = tmp_path / f".other.nc.{_dead_pid()}.x.tmp"
    for path in (stale, live, other):
        path.write_text("partial")
    atomic_write_text(target, "done")
    assert not stale.exists() and live.exists() and other.exists()
    assert target.read_text() == "done"
    assert clean_stale_temps(tmp_path / "other.nc") == [other]


def test_no_overwrite_race_has_exactly_one_winner(tmp_path):
    target = tmp_path / "race.txt"
    start, results = threading.Barrier(8), []

    def write(i):
        start.wait()
        try:
            atomic_write_text(target, f"writer {i}\n" * 10_000, overwrite=False)
            results.append(("ok", i))
        except FileExistsError:
            results.append(("exists", i))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for status, i in results if status == "ok"]
    assert len(winners) == 1 and len(results) == 8
    assert target.read_text() == f"writer {winners[0]}\n" * 10_000
    assert temp_files(target) == []


def test_the_two_writers_share_one_implementation():
    """runs.save_run and the CLI's text writer both go through bayes_koryo.atomic, and no
    other module renames or creates temporary files itself."""
    runs_src = (ROOT / "bayes_koryo" / "inference" / "runs.py").read_text()
    cli_src = (ROOT / "bayes_koryo" / "cli" / "common.py").read_text()
    assert "atomic_path(" in runs_src and "atomic_write_text(" in cli_src
    for path in (ROOT / "bayes_koryo").rglob("*.py"):
        if path.name != "atomic.py":
            src = path.read_text()
            assert "os.replace" not in src and "mkstemp" not in src, path


# --------------------------------------------------------------------------- killed mid-save

SAVER = textwrap.dedent("""
    import sys, time
    from bayes_koryo.inference import runs
    from bayes_koryo.inference.fit import load_run

    source, target, mode = sys.argv[1:4]
    model = load_run(source)
    real_write = runs._write_tree

    def slow_write(tree, path):
        if mode == "slow":
            real_write(tree, path)
            size = path.stat().st_size
            with open(path, "r+b") as fh:   # the file is half written ...
                fh.truncate(size // 2)
            print("writing", flush=True)
            time.sleep(600)                 # ... when the kill arrives
        else:
            real_write(tree, path)

    runs._write_tree = slow_write
    if mode.startswith("seed"):
        model.idata.attrs["seed"] = int(mode[4:])
    rounds = 5 if mode.startswith("seed") else 1
    print("ready", flush=True)
    sys.stdin.readline()                    # wait for "go"
    for _ in range(rounds):
        runs.save_run(model, target, overwrite=True)
    print("saved", flush=True)
""")


def _saver(tmp_path, source, target, mode):
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(source), str(target), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize("existing", [False, True])
def test_sigkill_during_save_leaves_no_partial_result(fitted, tmp_path, existing):
    source = fitted.save(tmp_path / "source.nc")
    target = tmp_path / "runs" / "run.nc"
    if existing:
        target.parent.mkdir()
        target.write_bytes(source.read_bytes())
    before = target.read_bytes() if existing else None
    proc = _saver(tmp_path, source, target, "slow")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    if existing:
        assert target.read_bytes() == before  # the previous, intact file
        assert load_run(target).idata.attrs["run_id"] == load_run(source).idata.attrs["run_id"]
    else:
        assert not target.exists()
    leftovers = temp_files(target)
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".tmp")  # killed: no cleanup
    # the next save to the same target removes the dead writer's temporary file
    fitted.save(target, overwrite=True)
    assert temp_files(target) == [] and sorted(p.name for p in target.parent.iterdir()) == [
        "run.nc"
    ]
    load_run(target)


def test_concurrent_saves_to_one_path_leave_one_complete_run(fitted, tmp_path):
    source = fitted.save(tmp_path / "source.nc")
    target = tmp_path / "shared.nc"
    procs = [_saver(tmp_path, source, target, f"seed{seed}") for seed in (101, 202)]
    for proc in procs:  # release both at once
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0 and "saved" in out
    run = load_run(target)  # complete and verified (data hash, format, groups)
    assert run.idata.attrs["seed"] in (101, 202)
    assert temp_files(target) == []


# --------------------------------------------------------------------------- --force


@pytest.mark.parametrize("name", ["baseline_report.md", "baseline_report.html"])
def test_run_refuses_existing_outputs_before_fitting(capsys, tmp_path, name):
    (tmp_path / name).write_text("precious")
    started = time.perf_counter()
    code = cli.main(["run", str(ROOT / "models" / "baseline.toml"), "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{name}: exists already (use --force" in err
    assert time.perf_counter() - started < 60  # refused up front, not after a fit
    assert (tmp_path / name).read_text() == "precious"
    assert not (tmp_path / "baseline.nc").exists()


def test_report_writer_can_refuse_to_overwrite(tmp_path):
    target = tmp_path / "r.md"
    write_text_output(target, "first", overwrite=False)
    with pytest.raises(ResultFileError, match="exists already"):
        write_text_output(target, "second", overwrite=False)
    assert target.read_text() == "first"
    write_text_output(target, "second")
    assert target.read_text() == "second"


def test_make_run_passes_force():
    makefile = (ROOT / "Makefile").read_text()
    run_recipe = makefile.split("\nrun:")[1].split("\n\n")[0]
    assert "bayes-koryo run" in run_recipe and "--force" in run_recipe
