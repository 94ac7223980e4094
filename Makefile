# `make run` and `make test` each build the virtual environment they need from pyproject.toml.
PYTHON ?= python3
# A python3.X that is not on PATH is looked up among pyenv's installed versions.
PY := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null || \
	PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | grep '^$(subst python,,$(PYTHON))' | tail -n 1) \
	$(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null)
# Each interpreter gets its own environment: .venv for the default, .venv-python3.12 for another.
VENV ?= $(if $(filter python3,$(PYTHON)),.venv,.venv-$(notdir $(PYTHON)))
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXPERIMENT ?= headline
EXPERIMENTS := $(basename $(notdir $(wildcard configs/experiment/*.yaml)))

.PHONY: help venv run results calibration test lint bench clean app
# `make` alone lists the targets: each is the line after its `##`.
.DEFAULT_GOAL := help

help: ## list the targets
	@awk -F ':.*## ' '/^[a-z]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (PYTHON=python3.12 uses .venv-python3.12; EXPERIMENT=NAME picks make run's experiment)"

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "error: no interpreter found for PYTHON=$(PYTHON)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP) ## build .venv from pyproject.toml (every target below does this first)

# Your run: sweep, figures and report under outputs/$(EXPERIMENT)/ (not tracked); prints where.
run: $(STAMP) ## the headline experiment end to end into outputs/headline/ (EXPERIMENT=NAME: another)
	$(BIN)/python -m experiments.headline $(EXPERIMENT)

# The committed reference results under results/, from each experiment's config alone, then the
# uncertainty screening (results/sensitivity/; about 10 minutes on 2 cores) and the posterior
# predictive over the committed calibration (results/posterior/). The calibration itself is
# `make calibration`: its fitted point becomes the defaults by hand (docs/calibration.md).
results: $(STAMP) ## regenerate every committed result under results/ but the calibration
	@for name in $(filter-out screening posterior,$(EXPERIMENTS)); do \
		$(BIN)/python -m experiments.headline $$name --results || exit $$?; \
	done
	$(BIN)/python -m experiments.sensitivity run screening hydra/launcher=joblib hydra.launcher.n_jobs=2
	$(BIN)/python -m experiments.sensitivity run posterior hydra/launcher=joblib hydra.launcher.n_jobs=2 --out results/posterior

calibration: $(STAMP) ## rerun the committed calibration into results/calibration/ (about 40 minutes)
	$(BIN)/python -m experiments.calibrate --out results/calibration
	$(BIN)/python -m experiments.identifiability

test: $(STAMP) ## lint, format check and the test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n auto --dist loadfile

lint: $(STAMP) ## fix what ruff can and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The dashboard (sim/app.py) at http://localhost:8765; Ctrl-C stops it.
app: $(STAMP) ## the dashboard at http://localhost:8765
	$(BIN)/solara run sim/app.py --host localhost --port 8765

bench: $(STAMP) ## the performance benchmarks (docs/performance.md)
	$(BIN)/python -m benchmarks.run_all

clean: ## delete the environment and every untracked output (outputs/, multirun/)
	rm -rf $(VENV) outputs multirun
