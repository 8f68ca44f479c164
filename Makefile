# make test: all set-up on a fresh machine (venv, editable install with extras, Graphviz, Chromium for the
# explorer's browser tests), then the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Each target installs only the extras it uses (pyproject.toml says what each brings), with a stamp of
# its own: the demo and the lab need neither torch nor micrograd, which only the tests and benchmarks use.
EXTRAS_test := dev,oracle,datasets,bench,demo,notebooks,browser,docs
EXTRAS_demo := demo
EXTRAS_lab := notebooks,lab
EXTRAS_docs := docs

# chromium: the headless browser the explorer's page tests drive (tests/explorer), Debian's with its driver.
.PHONY: test check demo lab docs setup graphviz chromium clean

# the suite builds the documentation site too (tests/test_docs.py: mkdocs build --strict); the checks first
test: $(VENV)/.installed-test graphviz chromium check
	$(PY) -m pytest -n 2 tests

# make check: ruff's lint and format check and mypy over the packages (configured in pyproject.toml)
check: $(VENV)/.installed-test
	$(PY) -m ruff check autograd nn optim
	$(PY) -m ruff format --check autograd nn optim
	$(PY) -m mypy

# make demo: the demo extra (no torch, no micrograd), then the flagship example (writes its pictures and checkpoint under out/).
demo: $(VENV)/.installed-demo graphviz
	$(PY) examples/demo.py

# make lab: JupyterLab on notebooks/ with the project's kernel (the notebooks and lab extras). Its kernels
# get OPENBLAS_THREAD_TIMEOUT=20 unless it is set: what importing autograd does where no other thread
# runs (a kernel has several; see autograd/openblas.py).
lab: $(VENV)/.installed-lab graphviz
	OPENBLAS_THREAD_TIMEOUT=$${OPENBLAS_THREAD_TIMEOUT:-20} $(PY) -m jupyterlab --notebook-dir=notebooks $$(if [ "$$(id -u)" = "0" ]; then echo --allow-root; fi)

# make docs: the documentation site (MkDocs, mkdocs.yml) into site/; --strict fails on any broken link or reference.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

# the venv with everything the suite uses
setup: $(VENV)/.installed-test

$(VENV)/.installed-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS_$*)]"
	touch $@

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
	rm -rf $(VENV) .pytest_cache .hypothesis site
