# Quick start: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
SRC    := schemas/shardplan_schemas compiler/shardplan_compiler executor/shardplan_executor
DEMO_OUT := .demo

.PHONY: all test demo venv format lint typecheck contracts pytest drift bench fuzz schema clean browser screenshot

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "shardplan needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
	touch $@

venv: $(STAMP)

## The whole gate, as CI runs it.
test: $(STAMP) browser
	$(MAKE) format lint typecheck contracts drift pytest

## Headless Chromium for the review page's browser tests (tests/browser): installed with
## apt-get when it is missing and we are root, as on CI; elsewhere those tests skip and say how.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser tests will skip"; \
	  else \
	    echo "no chromium: the browser tests will skip (install Debian's chromium package to run them)"; \
	  fi; }

format: $(STAMP)
	$(BIN)/ruff format --check .

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy $(SRC) tests bench

contracts: $(STAMP)
	$(BIN)/lint-imports

drift: $(STAMP)
	$(BIN)/shardplan schema --check

pytest: $(STAMP)
	$(BIN)/pytest

## Regenerate generated/ from the models.
schema: $(STAMP)
	$(BIN)/shardplan schema

## The main job on the embedded example: validate, compile, show, run through `pseudo`.
demo: $(STAMP)
	$(BIN)/shardplan validate examples/golden/golden.shardplan.yaml
	rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)
	$(BIN)/shardplan compile examples/golden/golden.shardplan.yaml -o $(DEMO_OUT)/golden.plan.json
	$(BIN)/shardplan show $(DEMO_OUT)/golden.plan.json
	$(BIN)/shardplan show $(DEMO_OUT)/golden.plan.json --format html -o $(DEMO_OUT)/golden.plan.html
	@echo "review page: open $(DEMO_OUT)/golden.plan.html in a browser"
	$(BIN)/shardplan run $(DEMO_OUT)/golden.plan.json --handler pseudo --out $(DEMO_OUT)/run
	head -n 3 $(DEMO_OUT)/run/export/en.jsonl

bench: $(STAMP)
	$(BIN)/python -m bench

## The README's picture of the golden example's diff page, from headless Chromium.
screenshot: $(STAMP) browser
	$(BIN)/python -m tests.browser.screenshot docs/review-page.png

fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --seconds 300

clean:
	rm -rf $(VENV) $(DEMO_OUT) .mypy_cache .pytest_cache .ruff_cache .hypothesis
