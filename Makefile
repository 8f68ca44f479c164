# make test: all set-up on a fresh machine (venv, editable install with extras, Graphviz, Chromium for the
# explorer's browser tests), then the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := dev,oracle,datasets,bench,demo,notebooks,browser
STAMP := $(VENV)/.installed

# chromium: the headless browser the explorer's page tests drive (tests/explorer), Debian's with its driver.
.PHONY: test demo lab setup graphviz chromium clean

test: setup graphviz chromium
	$(PY) -m pytest -n 2 tests

# make demo: the same set-up, then the flagship example (writes its pictures and checkpoint under out/).
demo: setup graphviz
	$(PY) examples/demo.py

# make lab: JupyterLab on notebooks/ with the project's kernel (installs jupyterlab into the venv on first use).
lab: setup graphviz
	$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install -q -e ".[lab]"
	$(PY) -m jupyterlab --notebook-dir=notebooks $$(if [ "$$(id -u)" = "0" ]; then echo --allow-root; fi)

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

graphviz:
	@if ! command -v dot >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Graphviz 'dot' is missing: installing Debian's graphviz"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz; \
		else \
			echo "Graphviz 'dot' is missing: install it with 'sudo apt-get install graphviz' (Debian/Ubuntu) or 'brew install graphviz' (macOS)"; \
			exit 1; \
		fi; \
	fi

chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Chromium or its driver is missing: installing Debian's chromium and chromium-driver"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
		else \
			echo "Chromium or chromedriver is missing (the explorer's browser tests need both): install them with 'sudo apt-get install chromium chromium-driver' (Debian/Ubuntu)"; \
			exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
