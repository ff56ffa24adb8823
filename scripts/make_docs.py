"""Regenerate the README's headline from the baseline run (`make docs`).

Reads runs/baseline.nc (written by `make run`) and writes

- docs/headline.md    the headline table (with the structural range of
  docs/structural_range.json, written by ``bayes-koryo sensitivity``), probabilities, result
  sentence and provenance;
- docs/baseline_report.json the run's full JSON report (every quantity with its interval,
  prior interval, evidence label and sensitivities), and docs/baseline_diagnostics.json (its
  convergence diagnostics), read by scripts/model_docs.py;
- docs/trajectory.png the trajectory figure (U(t), S(t) and the reported figures);
- docs/report_page.png a screenshot of the run's HTML report (`report --format html`), taken
  with headless Chromium (skipped, with a warning, where no browser is installed);

then replaces the block between the ``<!-- headline:start -->`` and
``<!-- headline:end -->`` markers of README.md with docs/headline.md, so the README shows
exactly the committed numbers. Every file is written atomically.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- headline:start -->", "<!-- headline:end -->"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "baseline.nc")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument(
        "--structural-range", type=Path, default=ROOT / "docs" / "structural_range.json"
    )
    args = parser.parse_args(argv)

    import matplotlib.pyplot as plt

    from bayes_koryo.atomic import atomic_write_text, replace_marked_block
    from bayes_koryo.errors import KoryoError
    from bayes_koryo.inference.fit import load_run
    from bayes_koryo.outputs import plots, report

    try:
        model = load_run(args.run)
    except KoryoError as exc:
        print(f"error: {exc} (run `make run` first)", file=sys.stderr)
        return 2
    args.docs.mkdir(parents=True, exist_ok=True)
    built = report.build_report(
        model, structural=report.read_structural_range(args.structural_range)
    )
    headline = report.headline_markdown(built)
    atomic_write_text(args.docs / "headline.md", headline)
    atomic_write_text(args.docs / "baseline_report.json", report.render(built, "json"))
    diagnostics = {**model.diagnostics.summary(), "run_id": model.idata.attrs.get("run_id")}
    atomic_write_text(
        args.docs / "baseline_diagnostics.json", json.dumps(diagnostics, indent=1) + "\n"
    )
    fig = plots.trajectory(model)
    plots.save_figure(fig, args.docs / "trajectory.png")
    plt.close(fig)
    try:
        replace_marked_block(args.readme, START, END, headline)
    except ValueError as exc:
        print(f"warning: {exc}; not updated", file=sys.stderr)
    _screenshot(model, built, args.docs / "report_page.png")
    print(f"wrote {args.docs / 'headline.md'}, {args.docs / 'trajectory.png'}, {args.readme}")
    return 0


def _screenshot(model, rep, out: Path) -> None:
    """Screenshot of the top of the run's HTML page (1100 x 1500 px) into ``out``."""
    import shutil
    import subprocess
    import tempfile

    from bayes_koryo.atomic import atomic_path
    from bayes_koryo.outputs.webpage import write_page

    browser = next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(n)
        ),
        None,
    )
    if browser is None:
        print(
            f"warning: no headless browser (apt-get install chromium); {out} not updated",
            file=sys.stderr,
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = write_page(model, rep, Path(tmp) / "report.html")
        shot = Path(tmp) / "page.png"  # the browser picks the format from the suffix
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1100,1500",
                f"--screenshot={shot}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with atomic_path(out) as target:
            shutil.copyfile(shot, target)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
