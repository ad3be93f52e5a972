# The two set-up commands: `make demo` and `make test`. Both work on a fresh clone.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint format install dev redis chromium clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned, so no later resolution ever pulls another (multi-GB) build
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install -q -e . torch==2.14.1 torchvision==0.29.1
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]' torch==2.14.1 torchvision==0.29.1
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev redis chromium

# tests start their own redis-server on a free port; make sure the binary exists
redis:
	@command -v redis-server >/dev/null || (apt-get update -q && apt-get install -y -q redis-server)

# the browser tests drive Debian's chromium through Playwright (which downloads no browser)
chromium:
	@test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)

demo: install
	$(BIN)/scenecraft render examples/prompts.jsonl --out out/demo

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
