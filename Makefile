# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1

CONNECTION ?= xurrent
# Test workers: two per core, since most tests wait on the SDK runner's start-up or on simulated
# latency rather than on CPU; `make test WORKERS=1` runs the suite serially, without pytest-xdist.
WORKERS ?= $(shell $(PYTHON) -c 'import os; print(2 * len(os.sched_getaffinity(0)))')
PARALLEL = $(if $(filter 1,$(WORKERS)),,-n $(WORKERS) --dist worksteal)

.PHONY: venv demo test check test-under-load lint bench simulator package debug deploy clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@# `fivetran debug` runs pipreqs, which knows installed packages only by top_level.txt; wheels
	@# built with newer tools omit it, and pipreqs then asks PyPI (13 s of retries when offline).
	@for d in $(foreach p,aiolimiter backoff duckdb orjson,$(VENV)/lib/python3*/site-packages/$(p)-*.dist-info); do \
		[ -f "$$d/top_level.txt" ] || basename "$$d" | cut -d- -f1 > "$$d/top_level.txt"; done
	touch $@

venv: $(BIN)/.installed

demo: venv
	$(BIN)/python -m xurrent_async.demo

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PARALLEL)

check: venv  # the inner loop, under a minute: ruff, and the tests but the SDK runner's (slow) and the whole-sync reliability ones
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow and not reliability" -q

test-under-load: venv  # the same checks with every core kept busy: no test may depend on the machine's speed
	$(BIN)/python tests/under_load.py $(PARALLEL)

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python -m xurrent_async.bench

simulator: venv  # make simulator [PORT=8080]
	$(BIN)/python -m xurrent_async.simulator --port $(or $(PORT),8080)

package: venv  # build/deploy/: exactly what Fivetran runs (no simulator, bench, demo or tests)
	$(BIN)/python -m xurrent_async.staging build/deploy

debug: venv  # make debug CONFIG=xurrent.local.json: a sync of the package's stage; files/ and crash-reports/ stay here
	@test -n "$(CONFIG)" || { echo "usage: make debug CONFIG=<file>.local.json"; exit 2; }
	$(BIN)/python -m xurrent_async.staging build/deploy --local
	cd build/deploy && PATH="$(abspath $(BIN)):$$PATH" fivetran debug --configuration "$(abspath $(CONFIG))"

deploy: package  # make deploy FIVETRAN_API_KEY=... DESTINATION=... CONFIG=xurrent.local.json [CONNECTION=xurrent]
	@test -n "$(FIVETRAN_API_KEY)" && test -n "$(DESTINATION)" && test -n "$(CONFIG)" || { \
		echo "usage: make deploy FIVETRAN_API_KEY=<key> DESTINATION=<destination> CONFIG=<file>.local.json [CONNECTION=xurrent]"; exit 2; }
	cd build/deploy && PATH="$(abspath $(BIN)):$$PATH" fivetran deploy --api-key "$(FIVETRAN_API_KEY)" \
		--destination "$(DESTINATION)" --connection "$(CONNECTION)" --configuration "$(abspath $(CONFIG))"

clean:  # build products only: your files/ (warehouse and state) stay; `fivetran reset --yes` removes them
	rm -rf $(VENV) build .demo .pytest_cache .ruff_cache
