# The two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The console on the bundled sample, replayed at speed; the report is written at the end.
demo: $(STAMP)
	$(BIN)/stormwatch demo --live

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

# Debian's chromium for the browser tests (needs root; without it those tests skip).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core \
		>/dev/null; } || echo "could not install chromium: the browser tests will skip"

test: lint browser
	$(BIN)/pytest -m "not slow"

bench: $(STAMP)
	$(BIN)/stormwatch bench ingest

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
