# The README's commands. `make demo` installs and runs the demo; `make test` installs
# everything (Debian packages included) and runs every check and test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo serve test install install-dev system-deps lint typecheck pytest bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[postgres,server]'

demo: install
	$(BIN)/changegate demo

serve: install
	$(BIN)/changegate init
	$(BIN)/changegate serve

system-deps:
	bash scripts/install-system-deps.sh

install-dev: $(BIN)/python
	$(BIN)/pip install -q 'torch==2.13.0'
	$(BIN)/pip install -q -e '.[postgres,server,ai,dev]'

LINT_PATHS := src tests $(wildcard bench examples)

lint:
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck:
	$(BIN)/mypy src/changegate

pytest:
	CI=$${CI:-} $(BIN)/python -m pytest -p no:cacheprovider -q

test: system-deps install-dev pytest

bench: install-dev
	$(BIN)/python bench/gate_latency.py
	$(BIN)/python bench/audit_verify.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
