# runner (the distribution issue-runner): `make demo` and `make test` are all a new machine needs (Python 3.11+, git, make).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= demo
EVAL   ?= ../shared/eval

.DEFAULT_GOAL := help
.PHONY: help venv demo test bench bench-quick eval eval-ablate eval-triage eval-priority lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench,lint]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install runner with its test tools

demo: $(STAMP) ## build a sample repository and issues file, run runner on it
	$(BIN)/python -m runner.cli.demo --dir $(DEMO)

test: $(STAMP) ## run the whole test suite (two processes; a test file stays in one)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP) ## run the benchmark suite (about 10 minutes on 2 cores)
	$(BIN)/python -m perf.bench

bench-quick: $(STAMP) ## every benchmark scenario, small (about 90 seconds)
	$(BIN)/python -m perf.bench --quick

EVAL_DATA ?= ../shared/eval
eval: eval-triage $(STAMP) ## related files vs the files real fixes changed, beside BM25; then triage quality
	$(BIN)/python -m perf.eval_localization --instances $(EVAL_DATA)/localization/swebench-lite.jsonl \
		--bundles $(EVAL_DATA)/localization/repos

eval-ablate: $(STAMP) ## eval's related files again with parts of the ranking off, one table of what each adds
	$(BIN)/python -m perf.eval_localization --instances $(EVAL_DATA)/localization/swebench-lite.jsonl \
		--bundles $(EVAL_DATA)/localization/repos --ablate

eval-triage: $(STAMP) ## triage quality (kind, priority) against people's labels, about 2 minutes
	$(BIN)/python -m perf.eval_triage --data $(EVAL_DATA)/triage --out perf/results

eval-priority: $(STAMP) ## learned priority variants on a time-ordered validation split, then the test, under a minute of CPU
	$(BIN)/python -m perf.eval_priority --data $(EVAL_DATA)/triage --out perf/results

lint: $(STAMP) ## ruff (lint and format check) and mypy, as CI runs them
	$(BIN)/python -m ruff check runner perf tests
	$(BIN)/python -m ruff format --check runner perf tests
	$(BIN)/python -m mypy

clean: ## remove the virtualenv, the demo and build leftovers
	rm -rf $(VENV) $(DEMO) build dist *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
