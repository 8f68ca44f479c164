# make test: all set-up on a fresh machine (venv, editable install with extras, Graphviz), then the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := dev,oracle,datasets,bench
STAMP := $(VENV)/.installed

.PHONY: test setup graphviz clean

test: setup graphviz
	$(PY) -m pytest -n 2 tests

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

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
