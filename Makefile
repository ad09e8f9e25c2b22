# Two set-up commands: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_EXAMPLE := examples/node-session-service

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/harness run scenarios/mobile-latency.toml

# The Node example's tests need its locked dependencies; without node and npm they skip and say why.
# mypy runs before the tests, so a type error fails in seconds, not after the suite (settings: pyproject.toml).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		echo "npm ci in $(NODE_EXAMPLE)"; cd $(NODE_EXAMPLE) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "node or npm not on PATH: the tests of $(NODE_EXAMPLE) will skip"; fi
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/faultproxy.py
	$(BIN)/python benchmarks/authsvc.py
	$(BIN)/python benchmarks/analysis.py

clean:
	rm -rf $(VENV) build *.egg-info
