# hostpairs — `make demo` sets everything up and crawls the bundled demo web; `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup chromium demo test bench clean

setup: $(STAMP) chromium

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Debian's Chromium, driven by Playwright through executable_path (Playwright's own browser download is never used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

demo: setup
	$(VENV)/bin/hostpairs demo

# Two workers: tests that start a browser or a crawl run one at a time on one of them, the others beside
# them (tests/conftest.py BESIDE_THE_BROWSER).
test: setup
	$(PY) -m pytest -q -n 2 --dist loadgroup

bench: setup
	$(PY) bench/bench_static.py

clean:
	rm -rf $(VENV) hostpairs.db hostpairs.db-*
