# runner: `make demo` and `make test` are all a new machine needs (Python 3.11+, git, make).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= demo
EVAL   ?= ../shared/eval

.DEFAULT_GOAL := help
.PHONY: help venv demo test bench bench-quick eval lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install runner with its test tools

demo: $(STAMP) ## build a sample repository and issues file, run runner on it
	$(BIN)/python -m runner.demo --dir $(DEMO)

test: $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest -q

bench: $(STAMP) ## run the benchmark suite (about 10 minutes on 2 cores)
	$(BIN)/python -m perf.bench

bench-quick: $(STAMP) ## every benchmark scenario, small (about 90 seconds)
	$(BIN)/python -m perf.bench --quick

eval: $(STAMP) ## related files vs the files real fixes changed, beside BM25 (EVAL=folder of localization/)
	$(BIN)/python -m perf.eval_localization --instances $(EVAL)/localization/swebench-lite.jsonl \
		--bundles $(EVAL)/localization/repos

lint: $(STAMP) ## byte-compile everything and check with ruff when available
	$(BIN)/python -m compileall -q runner perf tests
	@if $(BIN)/python -m ruff --version >/dev/null 2>&1; then $(BIN)/python -m ruff check runner perf tests; fi

clean: ## remove the virtualenv, the demo and build leftovers
	rm -rf $(VENV) $(DEMO) build dist *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
