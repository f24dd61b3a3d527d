# Two entry points for people and CI: `make serve` and `make test`. Both build .venv from pyproject.toml,
# so a fresh clone needs nothing installed by hand beyond Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install serve test check-schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/regista serve

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

check-schema: $(STAMP)
	$(BIN)/regista schema check

clean:
	rm -rf $(VENV) .pytest_cache
