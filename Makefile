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

.PHONY: run results test lint format bench clean app

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "error: no interpreter found for PYTHON=$(PYTHON)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Your run: sweep, figures and report under outputs/$(EXPERIMENT)/ (not tracked); prints where.
run: $(STAMP)
	$(BIN)/python -m experiments.headline $(EXPERIMENT)

# The committed reference results under results/, from each experiment's config alone, then the
# uncertainty screening (results/sensitivity/; about 26 minutes on 2 cores).
results: $(STAMP)
	@for name in $(filter-out screening,$(EXPERIMENTS)); do \
		$(BIN)/python -m experiments.headline $$name --results || exit $$?; \
	done
	$(BIN)/python -m experiments.sensitivity run screening hydra/launcher=joblib hydra.launcher.n_jobs=2

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The dashboard (sim/app.py) at http://localhost:8765; Ctrl-C stops it.
app: $(STAMP)
	$(BIN)/solara run sim/app.py --host localhost --port 8765

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) outputs multirun
