# The two commands a user needs (see README.md):
#   make run   - set up .venv, fit models/baseline.toml on the bundled data, write the report
#                and the figures to runs/
#   make test  - set up .venv and run the whole test suite
#   make docs  - regenerate docs/headline.md, docs/trajectory.png, docs/report_page.png and
#                the README headline from runs/baseline.nc
.PHONY: setup run test lint lock clean docs

VENV := .venv
BIN := $(VENV)/bin

setup:
	@bash scripts/setup.sh

run: setup
	$(BIN)/bayes-koryo run models/baseline.toml --out-dir runs --force

docs: setup
	$(BIN)/python scripts/make_docs.py

test: setup
	@bash scripts/setup_test_tools.sh
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check bayes_koryo tests

# Re-pin every installed package (run after changing dependencies in pyproject.toml).
lock: setup
	{ head -n 2 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^bayes.koryo'; } > constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) runs .pytest_cache
