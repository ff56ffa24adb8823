"""Benchmarks of bayes_koryo on this machine: cold fit, the plain-PyMC peer, warm refits,
SBC throughput, sampling efficiency and peak memory.

    .venv/bin/python benchmarks/run.py [--quick] [--out benchmarks/results.json]

Prints a table and writes JSON (atomically) with the machine facts (CPU, cores, RAM,
versions, date, git commit) and every figure with the load average (1 min) before and after
it. Times are wall-clock seconds; memory in MiB. Every fit uses a recorded integer seed.
``--quick`` is a smoke run (tiny draws, one repetition): its figures are not benchmarks.
See BENCHMARKS.md for the latest figures and the targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bayes_koryo import checkout
from bayes_koryo.outputs import tables
from bayes_koryo.study import PACKAGE_SEED, TWO_MILLION_DATE

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CONFIG = ROOT / "models" / "baseline.toml"
SEED = PACKAGE_SEED  # the baseline's seed (also models/baseline.toml)
U_DATE = TWO_MILLION_DATE
PACKAGES = ("bayes_koryo", "pymc", "pytensor", "nutpie", "numba", "arviz", "numpy", "xarray")
SCHEMA_KEYS = (
    "schema",
    "quick",
    "machine",
    "settings",
    "cold_fit",
    "peer",
    "warm_refit",
    "sbc",
    "efficiency",
    "memory",
    "targets",
)
SCHEMA = 1

TARGETS = {
    "cold_fit_no_cache_median_s": 20.0,  # cold fit, empty compile caches, median
    "cold_fit_median_s": 10.0,  # cold fit with the caches of an earlier run, median
    "peer_over_ours": 3.0,  # peer / ours, at least
    "warm_refit_median_s": 3.0,  # new data or new priors, no recompilation
    "sbc_200_minutes": 10.0,
    "peak_rss_mib": 1536.0,
    "divergences": 0,
}
"""Targets of the speed work (at most, except ``peer_over_ours``: at least)."""

FULL = {
    "draws": 1000,
    "tune": 1000,
    "chains": 4,
    "cold_repeats": 3,
    "peer_repeats": 1,
    "warm_repeats": 5,
    "sbc_simulations": 5,
}
QUICK = {
    "draws": 40,
    "tune": 40,
    "chains": 2,
    "cold_repeats": 1,
    "peer_repeats": 1,
    "warm_repeats": 1,
    "sbc_simulations": 1,
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny draws, 1 repeat")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument(
        "--peer-repeats",
        type=int,
        default=None,
        help="plain-PyMC cold fits (default 1: ~10+ minutes each at 4x1000)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["cold", "peer", "warm", "sbc"],
        help="leave a part out",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="regenerate the <!-- run:begin --> block of this Markdown file",
    )
    parser.add_argument(
        "--from-json", action="store_true", help="do not measure: regenerate --markdown from --out"
    )
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------- machine facts
def load() -> float:
    """1-minute load average (other processes compete for the 2 cores)."""
    return round(os.getloadavg()[0], 2)


def machine_facts() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": checkout.commit(short=False),
        "git_dirty": checkout.dirty(),
        "load_at_start": list(os.getloadavg()),
    }


# ---------------------------------------------------------------------------- subprocesses
def run_child(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; wall seconds, max RSS (MiB, from wait4's rusage of this child), exit code
    and load before/after."""
    before = load()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=False,
    )
    output = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": round(seconds, 2),
        "max_rss_mib": round(rusage.ru_maxrss / 1024, 1),
        "exit_code": proc.returncode,
        "load_before": before,
        "load_after": load(),
        "output_tail": output.decode(errors="replace")[-600:],
    }


def fresh_cache_env(root: Path) -> dict:
    """Environment pointing pytensor's compiledir and numba's cache at a new empty folder."""
    root.mkdir(parents=True, exist_ok=True)
    return {
        "PYTENSOR_FLAGS": f"compiledir={root / 'pytensor'}",
        "NUMBA_CACHE_DIR": str(root / "numba"),
    }


def cold_runs(cmd_for, repeats: int, tmp: Path, label: str) -> dict:
    """``repeats`` runs with fresh empty caches, then ``repeats`` with the cache the first of
    them filled (a user's second invocation)."""
    without, with_cache = [], []
    primed = tmp / f"{label}_cache_0"
    for i in range(repeats):
        env = fresh_cache_env(primed if i == 0 else tmp / f"{label}_cache_{i}")
        without.append(run_child(cmd_for(tmp / f"{label}_nocache_{i}"), env))
        print(
            f"  {label} without cache #{i + 1}: {without[-1]['seconds']} s "
            f"(load {without[-1]['load_before']})",
            flush=True,
        )
    for i in range(repeats):
        with_cache.append(
            run_child(cmd_for(tmp / f"{label}_cache_{i}.out"), fresh_cache_env(primed))
        )
        print(
            f"  {label} with cache #{i + 1}: {with_cache[-1]['seconds']} s "
            f"(load {with_cache[-1]['load_before']})",
            flush=True,
        )
    return {"without_cache": summarise(without), "with_cache": summarise(with_cache)}


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["exit_code"] in (0, 3)]  # 3: saved but unconverged (quick)
    return {
        "median_s": round(statistics.median(r["seconds"] for r in ok), 2) if ok else None,
        "max_rss_mib": max((r["max_rss_mib"] for r in ok), default=None),
        "runs": runs,
    }


PEER_SCRIPT = """
import json, os, sys, time
start = time.perf_counter()
import pymc as pm
from bayes_koryo.model.config import load_config
from bayes_koryo.data import load_observations
from bayes_koryo.model.graph import build_model
draws, tune, chains, seed = (int(a) for a in sys.argv[1:5])
out = sys.argv[5]
# the model as a careful PyMC user would write it: the original coordinates
config = load_config(sys.argv[6]).replace(sampler={"coordinates": "original"})
model = build_model(load_observations(), config)
with model:
    idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=min(chains, os.cpu_count()),
                      random_seed=seed, nuts_sampler="pymc", backend="c", progressbar=False)
stats = idata["sample_stats"]
json.dump({"seconds_in_process": time.perf_counter() - start,
           "sampling_seconds": float(idata["posterior"].attrs.get("sampling_time", float("nan"))),
           "divergences": int(stats["diverging"].sum()),
           "mean_tree_steps": float(stats["n_steps"].mean()),
           "target_accept": "PyMC default"}, open(out, "w"))
"""


def peer_cmd(settings: dict, tmp: Path):
    script = tmp / "peer.py"
    script.write_text(PEER_SCRIPT)

    def cmd(out: Path) -> list[str]:
        return [
            sys.executable,
            str(script),
            str(settings["draws"]),
            str(settings["tune"]),
            str(settings["chains"]),
            str(SEED),
            str(out) + ".json",
            str(CONFIG),
        ]

    return cmd


def ours_cmd(settings: dict, quick: bool):
    def cmd(out: Path) -> list[str]:
        extra = (
            [
                "--draws",
                str(settings["draws"]),
                "--tune",
                str(settings["tune"]),
                "--chains",
                str(settings["chains"]),
            ]
            if quick
            else []
        )
        return [
            str(VENV_BIN / "bayes-koryo"),
            "fit",
            str(CONFIG),
            "--out",
            str(out) + ".nc",
            "--no-progress",
            "--allow-unconverged",
            "--force",
            *extra,
        ]

    return cmd


# ---------------------------------------------------------------------------- in-process parts
def efficiency(idata) -> dict:
    """Bulk ESS per second of sampling: U(May 2013) and the slowest free parameter element."""
    import arviz as az
    import numpy as np

    post = idata["posterior"].to_dataset()
    secs = float(idata.attrs["sampling_seconds"])
    free = [v for v in post.data_vars if v in _free_names(idata)]
    ess = az.ess(post[free], method="bulk")
    worst_name, worst = None, np.inf
    for name in free:
        values = np.atleast_1d(ess[name].values)
        if np.nanmin(values) < worst:
            worst_name, worst = name, float(np.nanmin(values))
    u = float(az.ess(post["unique_users"].sel(date=U_DATE).values, method="bulk"))
    stats = idata["sample_stats"]
    return {
        "sampling_seconds": round(secs, 2),
        "ess_bulk_unique_users_2013_05_28": round(u, 1),
        "ess_per_s_unique_users_2013_05_28": round(u / secs, 2),
        "slowest_parameter": worst_name,
        "ess_bulk_slowest": round(worst, 1),
        "ess_per_s_slowest": round(worst / secs, 2),
        "divergences": int(stats["diverging"].sum()),
        "mean_steps_per_draw": round(float(stats["n_steps"].mean()), 1),
        "draws": int(idata.attrs["draws"]),
        "chains": int(idata.attrs["chains"]),
        "seed": int(idata.attrs["seed"]),
    }


def _free_names(idata) -> set[str]:
    """Free parameters of the baseline (scalars and the pace-deviation vectors)."""
    from bayes_koryo.inference.diagnostics import VECTOR_PARAMETERS
    from bayes_koryo.model.config import load_config
    from bayes_koryo.model.graph import free_parameters

    return set(free_parameters(load_config(CONFIG))) | set(VECTOR_PARAMETERS)


def warm_refits(settings: dict, repeats: int) -> tuple[dict, object]:
    """Refits in one process after new observation values and new prior values."""
    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.model.simulate import simulate_observations

    fit_args = {k: settings[k] for k in ("draws", "tune", "chains")}
    model = KoryoModel(CONFIG)
    start = time.perf_counter()
    model.compiled()
    compile_s = time.perf_counter() - start
    first = time.perf_counter()
    model.fit(seed=SEED, **fit_args)  # the first fit also compiles the post-processing
    first_s = time.perf_counter() - first
    real = model.observations
    results = {
        "compile_s": round(compile_s, 2),
        "first_fit_s": round(first_s, 2),
        "set_observations": [],
        "set_priors": [],
    }
    base_sigma = model.config.priors["deviation_scale"].to_dict()
    for i in range(repeats):
        simulated, _ = simulate_observations(model, seed=SEED + i)
        results["set_observations"].append(
            _timed_refit(model, lambda s=simulated: model.set_observations(s), SEED + i, fit_args)
        )
        model.set_observations(real)
    for i in range(repeats):
        spec = dict(base_sigma, sigma=0.25 + 0.02 * i)
        results["set_priors"].append(
            _timed_refit(
                model, lambda s=spec: model.set_priors({"deviation_scale": s}), SEED + i, fit_args
            )
        )
    model.set_priors({"deviation_scale": base_sigma})
    for kind in ("set_observations", "set_priors"):
        runs = results[kind]
        results[f"{kind}_median_s"] = round(statistics.median(r["seconds"] for r in runs), 2)
        results[f"{kind}_median_sampling_s"] = round(
            statistics.median(r["sampling_seconds"] for r in runs), 2
        )
    model.fit(seed=SEED, **fit_args)
    return results, model


def _timed_refit(model, swap, seed: int, fit_args: dict) -> dict:
    before = load()
    start = time.perf_counter()
    swap()
    model.fit(seed=seed, **fit_args)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "seed": seed,
        "sampling_seconds": round(float(model.idata.attrs["sampling_seconds"]), 2),
        "recompiled": bool(model.compile_seconds),
        "divergences": int(model.idata["sample_stats"]["diverging"].sum()),
        "load_before": before,
        "load_after": load(),
    }


def sbc_throughput(simulations: int, quick: bool) -> dict:
    """Simulations per minute (one process; each fit's chains use the cores)."""
    from bayes_koryo.validation import sbc

    before = load()
    extra = {"draws": 40, "tune": 40, "thin": 2} if quick else {}
    tasks = sbc.sbc_tasks(CONFIG, simulations=simulations + 1, **extra)
    sbc.sbc_simulation(tasks[0])  # compiles (not timed)
    start = time.perf_counter()
    for task in tasks[1:]:
        sbc.sbc_simulation(task)
    settings = {k: tasks[0][k] for k in ("draws", "tune", "chains", "thin")}
    how = "bayes_koryo.validation.sbc.sbc_simulation, one process (each fit's chains on the cores)"
    seconds = time.perf_counter() - start
    per_minute = simulations / (seconds / 60)
    return {
        "how": how,
        "settings": settings,
        "simulations": simulations,
        "seed": SEED,
        "seconds": round(seconds, 2),
        "per_minute": round(per_minute, 3),
        "projected_200_minutes": round(200 / per_minute, 1),
        "load_before": before,
        "load_after": load(),
    }


# ---------------------------------------------------------------------------- report
def verdicts(results: dict) -> dict:
    cold = results["cold_fit"] or {}
    peer = results["peer"] or {}
    ours_cold = (cold.get("without_cache") or {}).get("median_s")
    ours_warm_cache = (cold.get("with_cache") or {}).get("median_s")
    peer_cold = (peer.get("without_cache") or {}).get("median_s")
    warm = results["warm_refit"] or {}
    sbc = results["sbc"] or {}
    rss = results["memory"].get("peak_rss_mib")
    eff = results["efficiency"] or {}
    measured = {
        "cold_fit_no_cache_median_s": ours_cold,
        "cold_fit_median_s": ours_warm_cache,
        "peer_over_ours": (round(peer_cold / ours_cold, 2) if peer_cold and ours_cold else None),
        "warm_refit_median_s": max(
            filter(None, (warm.get("set_observations_median_s"), warm.get("set_priors_median_s"))),
            default=None,
        ),
        "sbc_200_minutes": sbc.get("projected_200_minutes"),
        "peak_rss_mib": rss,
        "divergences": eff.get("divergences"),
    }
    out = {}
    for key, target in TARGETS.items():
        value = measured[key]
        if value is None:
            met = None
        elif key == "peer_over_ours":
            met = value >= target
        else:
            met = value <= target
        out[key] = {"target": target, "measured": value, "met": met}
    return out


def table(results: dict) -> str:
    rows = [("figure", "target", "measured", "met")]
    for key, v in results["targets"].items():
        rows.append(
            (
                key,
                str(v["target"]),
                str(v["measured"]),
                {True: "yes", False: "NO", None: "-"}[v["met"]],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


MARKDOWN_BEGIN, MARKDOWN_END = "<!-- run:begin -->", "<!-- run:end -->"


def _first(load) -> str:
    """The 1-minute figure of a load-average triple (or a lone number), to one decimal."""
    value = load[0] if isinstance(load, (list, tuple)) else load
    return "?" if value is None else f"{float(value):.1f}"


def markdown_table(results: dict) -> str:
    """The measured figures and the targets of ``results`` as Markdown (for BENCHMARKS.md)."""

    def cold(part: dict | None) -> str:
        if not part or part.get("median_s") is None:
            return "not measured"
        runs = ", ".join(f"{r['seconds']:.1f}" for r in part.get("runs", []))
        rss = part.get("max_rss_mib")
        return f"median **{part['median_s']:.1f} s** ({runs})" + (
            f"; max RSS {rss:.0f} MiB" if rss is not None else ""
        )

    c, w, e = results["cold_fit"] or {}, results["warm_refit"] or {}, results["efficiency"] or {}
    m = results["machine"]
    rows = [
        ("cold fit in a fresh process, no cache", cold(c.get("without_cache"))),
        ("cold fit, with the caches of the first run", cold(c.get("with_cache"))),
        (
            "peer (`pm.sample`, original coordinates), no cache",
            cold((results["peer"] or {}).get("without_cache")),
        ),
    ]
    if w:
        rows += [
            ("compile in the warm process", f"{w['compile_s']:.1f} s"),
            (
                "warm refit, `set_observations` + `fit`",
                f"median **{w['set_observations_median_s']:.1f} s** (sampling "
                f"{w['set_observations_median_sampling_s']:.1f} s)",
            ),
            (
                "warm refit, `set_priors` + `fit`",
                f"median **{w['set_priors_median_s']:.1f} s** (sampling "
                f"{w['set_priors_median_sampling_s']:.1f} s)",
            ),
        ]
    if e.get("mean_steps_per_draw") is not None:
        rows += [
            (
                "last cold fit: divergences / mean leapfrog steps per draw",
                f"{e['divergences']} / {e['mean_steps_per_draw']:.0f}",
            ),
            (
                "last cold fit: bulk ESS/s of sampling, U(May 2013)",
                f"{e['ess_per_s_unique_users_2013_05_28']:.0f}",
            ),
            (
                f"last cold fit: bulk ESS/s, slowest free parameter ({e['slowest_parameter']})",
                f"{e['ess_per_s_slowest']:.0f}",
            ),
        ]
    met = {True: "yes", False: "**no**", None: "not measured"}
    targets = [
        [
            f"{key} {'≥' if key == 'peer_over_ours' else '≤'} {v['target']}",
            v["measured"],
            met[v["met"]],
        ]
        for key, v in results["targets"].items()
    ]
    lines = [tables.markdown_table(["figure", "measured"], rows), ""]
    lines += [tables.markdown_table(["target", "measured", "met"], targets)]
    lines += [
        "",
        f"(benchmarks/run.py, {m['date']}, commit {m['git_commit']}"
        f"{' (dirty tree)' if m.get('git_dirty') else ''}, {m['cores']} cores, "
        f"1-minute load {_first(m.get('load_at_start'))} at the start and "
        f"{_first(m.get('load_at_end'))} at the end; "
        f"bayes_koryo {m['versions'].get('bayes_koryo', '?')})",
    ]
    return "\n".join(lines)


def validate(results: dict) -> None:
    """Raise ValueError unless ``results`` has the documented top-level layout."""
    missing = [k for k in SCHEMA_KEYS if k not in results]
    if missing:
        raise ValueError(f"benchmark results lack {', '.join(missing)}")
    if results["schema"] != SCHEMA:
        raise ValueError(f"benchmark results schema {results['schema']} != {SCHEMA}")
    for key in ("cpu", "cores", "ram_gib", "python", "versions", "date", "git_commit"):
        if key not in results["machine"]:
            raise ValueError(f"benchmark results: machine lacks {key}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_json:
        results = json.loads(args.out.read_text(encoding="utf-8"))
        validate(results)
        if args.markdown:
            _write_markdown(args.markdown, results)
        return 0
    settings = dict(QUICK if args.quick else FULL)
    if args.peer_repeats is not None:
        settings["peer_repeats"] = args.peer_repeats
    results = {
        "schema": SCHEMA,
        "quick": args.quick,
        "machine": machine_facts(),
        "settings": {**settings, "seed": SEED, "config": str(CONFIG.relative_to(ROOT))},
        "cold_fit": None,
        "peer": None,
        "warm_refit": None,
        "sbc": None,
        "efficiency": None,
        "memory": {},
    }
    with tempfile.TemporaryDirectory(prefix="koryo-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if "cold" not in args.skip:
            print("cold fit (bayes-koryo fit, fresh process):", flush=True)
            results["cold_fit"] = cold_runs(
                ours_cmd(settings, args.quick), settings["cold_repeats"], tmp, "ours"
            )
            from bayes_koryo.inference.fit import load_run

            last = tmp / f"ours_cache_{settings['cold_repeats'] - 1}.out.nc"
            if last.exists():
                results["efficiency"] = efficiency(load_run(last).idata)
            rss = [r["max_rss_mib"] for g in results["cold_fit"].values() for r in g["runs"]]
            results["memory"] = {"peak_rss_mib": max(rss), "how": "wait4 rusage of the child"}
        if "peer" not in args.skip:
            print("peer (pm.sample, PyMC NUTS, C backend, fresh process):", flush=True)
            results["peer"] = cold_runs(
                peer_cmd(settings, tmp), settings["peer_repeats"], tmp, "peer"
            )
            for group in ("without_cache", "with_cache"):
                for i, run in enumerate(results["peer"][group]["runs"]):
                    report = tmp / (
                        f"peer_nocache_{i}.json"
                        if group == "without_cache"
                        else f"peer_cache_{i}.out.json"
                    )
                    if report.exists():
                        run["peer_report"] = json.loads(report.read_text())
    if "warm" not in args.skip:
        print("warm refits (one process):", flush=True)
        results["warm_refit"], model = warm_refits(settings, settings["warm_repeats"])
        if results["efficiency"] is None:
            results["efficiency"] = efficiency(model.idata)
    if "sbc" not in args.skip:
        print("SBC throughput:", flush=True)
        results["sbc"] = sbc_throughput(settings["sbc_simulations"], args.quick)
    results["machine"]["load_at_end"] = list(os.getloadavg())
    results["targets"] = verdicts(results)
    validate(results)
    from bayes_koryo.atomic import atomic_write_text

    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(results, indent=2, default=str) + "\n", overwrite=True)
    print(table(results))
    print(f"wrote {args.out}")
    if args.markdown:
        _write_markdown(args.markdown, results)
    return 0


def _write_markdown(path: Path, results: dict) -> None:
    from bayes_koryo.atomic import replace_marked_block

    replace_marked_block(path, MARKDOWN_BEGIN, MARKDOWN_END, markdown_table(results))
    print(f"regenerated the benchmark table of {path}")


if __name__ == "__main__":
    raise SystemExit(main())
