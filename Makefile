# The two commands a user needs (see README.md):
#   make run   - set up .venv, fit models/baseline.toml on the bundled data, write the report
#                and the figures to runs/
#   make test  - set up .venv, run the quality gates (make check) and the whole test suite
#   make docs  - regenerate docs/headline.md, docs/trajectory.png, docs/report_page.png,
#                docs/baseline_report.json, docs/baseline_diagnostics.json and the README
#                headline from runs/baseline.nc, docs/prior_predictive.*, then MODEL.md's
#                generated tables from docs/
#                (docs/loo.json: bayes-koryo loo runs/baseline.nc --out-dir docs)
.PHONY: setup run test check lint lock clean docs

VENV := .venv
PY_SOURCES := bayes_koryo tests benchmarks scripts
BIN := $(VENV)/bin

setup:
	@bash scripts/setup.sh

run: setup
	$(BIN)/bayes-koryo run models/baseline.toml --out-dir runs --force \
		--structural-range docs/structural_range.json

docs: setup
	$(BIN)/python scripts/make_docs.py
	$(BIN)/python scripts/prior_predictive_figure.py
	$(BIN)/python scripts/model_docs.py --markdown MODEL.md

test: check
	@bash scripts/setup_test_tools.sh
	$(BIN)/python -m pytest

# The quality gates `make test` runs first: lint (incl. numpy-style docstrings), formatting,
# static types of the package. Each fails the build on its first finding.
check: setup
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy

lint: check

# Re-pin every installed package (run after changing dependencies in pyproject.toml).
lock: setup
	{ head -n 2 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^bayes.koryo'; } > constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) runs .pytest_cache
