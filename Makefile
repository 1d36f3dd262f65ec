# The two commands of the README: `make run` (the product) and `make test` (the suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: run test lint bench screenshots clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(PY) manage.py serve

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

# The README's screenshots (docs/screenshots/): the browser tests, keeping the pages they walk.
screenshots: $(STAMP)
	SCREENSHOTS=docs/screenshots $(PY) -m pytest -q cockpit/tests/test_browser.py

bench: $(STAMP)
	$(PY) manage.py bench all

clean:
	rm -rf $(VENV) .data
