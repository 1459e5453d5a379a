# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp-install
EXTRAS ?= dev,ui,ray,train,model,vision

.PHONY: install demo test test-slow bench lint ui browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

## Run the main job on the embedded default store and print the ranked result.
demo: $(STAMP)
	$(BIN)/ltvad demo

## The test suite CI runs (fast by default; slow and gpu tests are opt-in).
test: $(STAMP) browser
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check ltvad_search indexer ui tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo_data reports
	find index_store -mindepth 1 ! -name .gitkeep -delete

## Debian's Chromium and ChromeDriver for the browser test (installed when missing and root).
browser:
	@command -v chromedriver >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "chromium/chromedriver not installed: the browser test will be skipped"

ui: $(STAMP)
	$(BIN)/ltvad ui
