"""Production draws on the baseline: the convergence gate at 1000 and at 2000 draws per chain.

    .venv/bin/python benchmarks/production_draws.py [--out benchmarks/production_draws.json]
                                                    [--markdown BENCHMARKS.md] [--from-json]

One process, one compile; for each number of draws in ``DRAWS`` and each seed of ``SEEDS`` a
fit of models/baseline.toml (4 chains, 1000 warm-up, its target acceptance). Prints one JSON
line per fit (the row of ``geometry.one_fit``) and writes them all
to --out; with --markdown the block between ``<!-- draws:begin -->`` / ``<!-- draws:end -->``
of that file is regenerated from the JSON. Why it exists: the package's gate asks every
parameter's R-hat to be <= 1.01, and with ~40 parameters whose slowest mix at a bulk ESS of
~500 per 4 x 1000 draws the largest R-hat crosses 1.01 by noise alone; this measures how often
at each setting.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from geometry import markdown_table, one_fit, parse_args, save_results

from bayes_koryo.outputs import tables

ROOT = Path(__file__).resolve().parent.parent
DRAWS = (1000, 2000)
"""Draws per chain compared (after 1000 warm-up draws, 4 chains)."""
SEEDS = (1, 2, 3, 4, 5, 6)
BEGIN, END = "<!-- draws:begin -->", "<!-- draws:end -->"


def markdown_summary(rows: list[dict]) -> str:
    """Per number of draws: fits, gate passes, R-hat > 1.01, divergences, medians."""
    import statistics

    head = [
        "draws per chain",
        "fits",
        "passed the gate",
        "max R-hat > 1.01",
        "fits with divergences",
        "median lowest bulk ESS",
        "median sampling s",
    ]
    cells = []
    for draws in dict.fromkeys(r["draws"] for r in rows):
        group = [r for r in rows if r["draws"] == draws]
        cells.append(
            [
                draws,
                len(group),
                sum(r["converged"] for r in group),
                sum(r["max_r_hat"] > 1.01 for r in group),
                sum(r["divergences"] > 0 for r in group),
                f"{statistics.median(r['min_ess_bulk'] for r in group):.0f}",
                f"{statistics.median(r['sampling_seconds'] for r in group):.1f}",
            ]
        )
    return tables.markdown_table(head, cells)


def write_markdown(path: Path, results: dict) -> None:
    """Replace the marked block of ``path`` with the tables of ``results``."""
    from bayes_koryo.atomic import replace_marked_block

    rows = results["rows"]
    every = "\n\n".join(
        f"{draws} draws per chain:\n\n" + markdown_table([r for r in rows if r["draws"] == draws])
        for draws in dict.fromkeys(r["draws"] for r in rows)
    )
    replace_marked_block(
        path,
        BEGIN,
        END,
        f"{markdown_summary(rows)}\n\nEvery fit:\n\n{every}\n\n({results['note']})",
    )


def main(argv=None) -> int:
    args = parse_args(argv, __doc__.splitlines()[0], ROOT / "benchmarks" / "production_draws.json")
    from bayes_koryo.inference.fit import KoryoModel
    from bayes_koryo.model.config import load_config

    if args.from_json:
        results = json.loads(args.out.read_text(encoding="utf-8"))
    else:
        model = KoryoModel(load_config(ROOT / "models" / "baseline.toml"))
        rows = []
        for draws in DRAWS:
            for seed in SEEDS:
                rows.append(one_fit(model, seed, draws))
                print(json.dumps(rows[-1]), flush=True)
        results = save_results(args.out, rows, "benchmarks/production_draws.py")
    if args.markdown:
        write_markdown(args.markdown, results)
        print(f"regenerated the draws table of {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
