# Two entry points for people and CI: `make serve` and `make test`. Both build .venv from pyproject.toml,
# so a fresh clone needs nothing installed by hand beyond Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make serve` installs Regista and its runtime dependencies only; `make test` adds the
# test extra (pytest, the real ClearML SDK and MLflow client, schemathesis, build...).
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=
# The MLflow release of the web UI Regista serves and of the baseline server below; the same as the
# mlflow-skinny client pinned in pyproject.toml (tests/regista/test_ui_commands.py checks the three agree).
MLFLOW_VERSION := 3.17.2
# The MLflow web UI's built files, unpacked from the mlflow wheel into the venv (regista ui install).
UI := $(VENV)/share/regista/mlflow-ui/regista-mlflow-ui.json

.PHONY: install serve test dist bench bench-scale reliability wrk chromium check-schema clean

$(RUNTIME): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(UI): $(RUNTIME)
	$(BIN)/regista ui install --version $(MLFLOW_VERSION)
	touch $(UI)

install: $(STAMP) $(UI)

serve: $(RUNTIME) $(UI)
	$(BIN)/regista serve

# The sdist and the wheel, in dist/ (what `pip install regista-*.whl` installs anywhere).
dist: $(STAMP)
	$(BIN)/python -m build --outdir dist

# wrk drives the benchmarks (and the quick benchmark run in the test suite): Debian's package.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# Headless Chromium renders the documentation page and the MLflow web UI in the tests, driven through
# chromedriver (Selenium): Debian's packages.
chromium:
	@{ command -v chromium && command -v chromedriver; } >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The single sign-on tests run a real OpenID Connect provider (oidc-provider from npm) with Node.js: Debian's
# nodejs and npm when the machine has no node, then the exact versions of tests/fixtures/oidc/package-lock.json.
OIDC := tests/fixtures/oidc/node_modules/.package-lock.json
$(OIDC): tests/fixtures/oidc/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --prefix tests/fixtures/oidc --no-audit --no-fund --silent
	touch $(OIDC)

# MLflow's own server, the baseline of the MLflow comparison and the
# source and target of `regista import/export mlflow` in the tests: a full MLflow in a venv of its own.
MLFLOW_VENV := bench/.mlflow-venv
$(MLFLOW_VENV)/bin/mlflow:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet mlflow==$(MLFLOW_VERSION)

# mlflow-export-import beside it: what `make bench` compares `regista import mlflow` with (its test too).
$(MLFLOW_VENV)/bin/export-run: $(MLFLOW_VENV)/bin/mlflow
	$(MLFLOW_VENV)/bin/pip install --quiet mlflow-export-import==1.2.0 tabulate  # a module it imports without declaring it

test: $(STAMP) $(UI) wrk chromium $(OIDC) $(MLFLOW_VENV)/bin/mlflow $(MLFLOW_VENV)/bin/export-run
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# make bench: the whole suite; make bench QUICK=1: a reduced one (about 3 minutes, no MLflow server).
bench: $(STAMP) wrk $(if $(QUICK),,$(MLFLOW_VENV)/bin/mlflow $(MLFLOW_VENV)/bin/export-run)
	$(BIN)/python -m bench.run $(if $(QUICK),--quick --mlflow-server '')

# make bench-scale: runs/search at 10,000 and 100,000 runs, the ClearML listing at 100,000 tasks, ingest,
# bytes a point and the retention pass, against mlflow server where it has the same (bench/scale.py,
# writes bench/results/scale.json; about 20 minutes).
bench-scale: $(STAMP) $(MLFLOW_VENV)/bin/mlflow
	$(BIN)/python -m bench.scale

# make reliability: fuzzing, hostile input, concurrency, crash safety and isolation at full size (writes
# bench/results/reliability.json; exit status 1 on any problem); QUICK=1 runs the suite's sizes.
reliability: $(STAMP)
	$(BIN)/python -m bench.reliability $(if $(QUICK),--quick)

check-schema: $(STAMP)
	$(BIN)/regista schema check

clean:
	rm -rf $(VENV) .pytest_cache dist tests/fixtures/oidc/node_modules
