# dcabot: `make run` starts it, `make test` runs every test; both create .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run demo test test-deploy bench lint venv clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# The web app on http://127.0.0.1:8000 (SQLite in instance/, mails printed, bots run every minute).
run: $(STAMP)
	$(PY) -m saas.devserver

# The standalone bot on the simulated exchange: a few runs printed to the terminal.
demo: $(STAMP)
	$(PY) main.py demo

test: $(STAMP)
	$(PY) -m pytest -q

# The slow install test (root, minutes): deploy/install.sh in a fresh Debian 12 made with
# debootstrap, in its own network namespace; Debian's packages and the wheels are fetched first.
test-deploy: $(STAMP)
	DCABOT_TEST_DEPLOY=1 $(PY) -m pytest -q -x --timeout 3600 tests/deploy/test_install_debian.py

bench: $(STAMP)
	$(PY) -m benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
