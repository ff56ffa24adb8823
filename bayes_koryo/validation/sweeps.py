"""Embarrassingly parallel sweeps of fits (SBC, recovery, sensitivity variants).

``run_sweep(function, tasks)`` calls ``function(task)`` for every task and returns the
results in task order, whichever executor ran them:

- ``workers=1``: in this process, one task after another (no pool). Tests and notebooks use
  it to reuse the session's compiled models.
- default (``scheduler=None``): a local ``concurrent.futures.ProcessPoolExecutor`` with
  ``workers`` processes (default: all cores this process may use), started with the
  ``forkserver`` method (``spawn`` where there is none) — never ``fork``, which would copy
  numba's and nutpie's threads and locks into the children.
- ``scheduler="tcp://host:port"``: an existing Dask distributed cluster
  (``dask.distributed.Client(scheduler)``, the optional dependency ``bayes_koryo[dask]``);
  ``workers`` is ignored. Every Dask worker must run one thread (``dask worker --nthreads 1``):
  compiled models are cached per process and swapped to each task's data, so two tasks on
  threads of one worker would corrupt each other. A threaded worker is refused, before any
  task is sent and again by the task itself on a worker that joins later.

Contract for callers:

- ``function`` is a module-level function (importable by name in a fresh process);
- tasks and results are plain picklable data (dicts, numpy arrays, DataFrames) — never open
  files or fitted model objects; a caller writes its final outputs (netCDF/CSV/JSON) itself;
- every task carries its own integer seed, so the results do not depend on the executor,
  on the number of workers or on the order in which tasks run (tests check this);
- a task may carry a ``"structure"`` key (any string, e.g. ``KoryoModel.structure_key()`` or a
  config name): compiled models are cached per process and structure, so tasks of one
  structure are sent to as few worker processes as keeps the workers busy (see
  :func:`plan_chunks`). Without the key all tasks count as one structure.

An exception in a task stops the sweep and is re-raised (one-line ``KoryoError``s pass
through unchanged).

``process_model`` is the one per-process cache of the models a task fits (SBC, power): a
worker builds and compiles each (role, config, data) once and reuses it for every later task.

``fit_with_retry`` is the one convergence policy of every sweep's task (variants,
leave-future-out, leave-one-out): a fit that misses the gate is refitted once with a higher
target acceptance and a longer warm-up, and the first fit's diagnostics are returned.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bayes_koryo.errors import ClusterError

__all__ = [
    "RETRY_TARGET_ACCEPT",
    "RETRY_TUNE_FACTOR",
    "default_workers",
    "fit_with_retry",
    "plan_chunks",
    "process_model",
    "run_sweep",
]

STRUCTURE_KEY = "structure"
"""Optional task key naming the compiled structure a task needs."""

_PROCESS_MODELS: dict[str, Any] = {}
"""This process's models by role, config and data (see ``process_model``)."""


def default_workers() -> int:
    """Cores this process may use (``os.sched_getaffinity`` where available)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def plan_chunks(tasks: Sequence[Any], workers: int) -> list[list[int]]:
    """Group task indices into chunks; each chunk runs in one worker process.

    Tasks are grouped by their ``"structure"`` key. A structure with enough tasks to keep
    every worker busy is split into single tasks (each worker compiles it once at most, and
    single tasks balance the load best); a smaller structure is split into as many chunks as
    its share of the workers (at least one), so that few processes compile it.
    """
    groups: dict[Any, list[int]] = {}
    for i, task in enumerate(tasks):
        key = task.get(STRUCTURE_KEY) if isinstance(task, dict) else None
        groups.setdefault(key, []).append(i)
    n = len(tasks)
    chunks: list[list[int]] = []
    for indices in groups.values():
        slots = max(1, math.ceil(workers * len(indices) / n))
        if slots >= workers:
            chunks.extend([i] for i in indices)
        else:
            size = math.ceil(len(indices) / slots)
            chunks.extend(indices[k : k + size] for k in range(0, len(indices), size))
    return chunks


THREADED_WORKER = (
    "runs {threads} threads; bayes_koryo's compiled models are cached per process and are not "
    "thread-safe: start Dask workers with one thread each (dask worker --nthreads 1, or "
    "LocalCluster(threads_per_worker=1))"
)


def run_chunk(function: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
    """Run ``function`` on each task of one chunk, in order (inside one worker process)."""
    _refuse_threaded_dask_worker()
    return [function(task) for task in tasks]


def _refuse_threaded_dask_worker() -> None:
    """Raise ClusterError when this code runs on a Dask worker with more than one thread."""
    if "distributed" not in sys.modules:  # a Dask worker has imported it
        return
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a Dask worker
        return
    threads = getattr(getattr(worker, "state", worker), "nthreads", 1)
    if threads > 1:
        raise ClusterError(
            f"Dask worker {worker.address} " + THREADED_WORKER.format(threads=threads)
        )


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_sweep(
    function: Callable[[Any], Any],
    tasks: Sequence[Any],
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``[function(task) for task in tasks]``, computed in parallel; results in task order.

    Parameters
    ----------
    function : module-level callable taking one task (plain data) and returning plain data.
    tasks : the tasks, each with its own integer seed (see the module docstring).
    scheduler : address of a Dask distributed scheduler (``"tcp://host:port"``), or None for
        local processes.
    workers : local worker processes (default: all cores); 1 runs in this process.
    progress : called as ``progress(done, total)`` after each finished task or chunk.
    on_result : called as ``on_result(index, result)`` for each result as it arrives (in
        completion order), e.g. to save partial results of a long sweep.
    """
    tasks = list(tasks)
    total = len(tasks)
    if total == 0:
        return []
    if scheduler is not None:
        return _run_dask(function, tasks, scheduler, progress, on_result)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        results = []
        for task in tasks:
            results.append(function(task))
            if on_result is not None:
                on_result(len(results) - 1, results[-1])
            if progress is not None:
                progress(len(results), total)
        return results
    return _run_pool(function, tasks, workers, progress, on_result)


def _run_pool(function, tasks, workers, progress, on_result) -> list[Any]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    chunks = plan_chunks(tasks, workers)
    results: list[Any] = [None] * len(tasks)
    done = 0
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)), mp_context=_mp_context()
    ) as pool:
        futures = {
            pool.submit(run_chunk, function, [tasks[i] for i in chunk]): chunk for chunk in chunks
        }
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done += _deliver(futures[future], future.result(), results, on_result)
                    if progress is not None:
                        progress(done, len(tasks))
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results


def _deliver(indices, chunk_results, results: list, on_result) -> int:
    """Store one finished chunk's results at their task positions.

    Each result is also handed to ``on_result``. Returns the number of tasks delivered.
    """
    for i, result in zip(indices, chunk_results, strict=True):
        results[i] = result
        if on_result is not None:
            on_result(i, result)
    return len(indices)


def _run_dask(function, tasks, scheduler, progress, on_result) -> list[Any]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise ClusterError(
            f"--scheduler {scheduler}: Dask is not installed; install the optional dependency "
            "with: pip install 'bayes_koryo[dask]'"
        ) from None
    results: list[Any] = [None] * len(tasks)
    with Client(scheduler, set_as_default=False) as client:
        n_workers = _single_threaded_workers(client, scheduler)
        chunks = plan_chunks(tasks, n_workers)
        futures = {
            client.submit(run_chunk, function, [tasks[i] for i in chunk], pure=False): chunk
            for chunk in chunks
        }
        done = 0
        try:
            for future in as_completed(list(futures), loop=client.loop):
                done += _deliver(futures[future], future.result(), results, on_result)
                if progress is not None:
                    progress(done, len(tasks))
        except BaseException:
            client.cancel(list(futures))
            raise
    return results


def _single_threaded_workers(client, scheduler: str) -> int:
    """Return the number of the cluster's workers; ClusterError if none or any is threaded."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    if not workers:
        raise ClusterError(f"--scheduler {scheduler}: no Dask worker is connected")
    threaded = {
        addr: w.get("nthreads", 1) for addr, w in workers.items() if w.get("nthreads", 1) > 1
    }
    if threaded:
        addr, threads = next(iter(threaded.items()))
        raise ClusterError(
            f"--scheduler {scheduler}: worker {addr}"
            + (f" (and {len(threaded) - 1} more)" if len(threaded) > 1 else "")
            + " "
            + THREADED_WORKER.format(threads=threads)
        )
    return len(workers)


RETRY_TARGET_ACCEPT = 0.99
"""Target acceptance of the one retry of a sweep's fit that missed the convergence gate."""
RETRY_TUNE_FACTOR = 2
"""The retry also runs this many times the warm-up draws."""


def fit_with_retry(spec: dict, source: str, task: dict, observations=None):
    """Fit a config (``spec``: its dict) at a task's seed and settings; retry once if it fails.

    A fit that misses the convergence gate is refitted once, same seed, at target acceptance
    ``RETRY_TARGET_ACCEPT`` with ``RETRY_TUNE_FACTOR`` times the warm-up (the policy of every
    sweep: variants, leave-future-out, leave-one-out). Returns (model, the first fit's
    diagnostics summary); ``observations``: None for the bundled data.
    """
    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.model.config import config_from_dict

    first = None
    for retry in (False, True):
        if retry:
            spec = {
                **spec,
                "sampler": {**spec.get("sampler", {}), "target_accept": RETRY_TARGET_ACCEPT},
            }
        model = KoryoModel(config_from_dict(spec, source=source), observations)
        model.fit(
            seed=task["seed"],
            draws=task["draws"],
            tune=task["tune"] * (RETRY_TUNE_FACTOR if retry else 1),
            chains=task["chains"],
            log_densities=False,
        )  # not needed by sweeps: saves two pytensor compiles
        if model.diagnostics is None:
            raise RuntimeError(f"{source}: the fit left no diagnostics")
        summary = model.diagnostics.summary()
        first = first or summary
        if summary["converged"]:
            break
    return model, first


def process_model(role: str, config_dict: dict, observations, source: str):
    """Return this process's KoryoModel of ``config_dict`` on ``observations`` (built once).

    ``role`` tells apart two models of one config and data that a task changes differently
    (e.g. SBC's template keeps the real data, its fitter gets each simulated data set); the
    cache key also holds a digest of the config and of the observations. ``source`` names the
    config in error messages.
    """
    import hashlib
    import json

    import pandas as pd

    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.model.config import config_from_dict

    config_digest = hashlib.sha256(
        json.dumps(config_dict, sort_keys=True, default=str).encode()
    ).hexdigest()
    data_digest = str(pd.util.hash_pandas_object(observations, index=True).sum())
    key = f"{role}:{config_digest}:{data_digest}"
    if key not in _PROCESS_MODELS:
        config = config_from_dict(config_dict, source=source)
        _PROCESS_MODELS[key] = KoryoModel(config, observations)
    return _PROCESS_MODELS[key]
