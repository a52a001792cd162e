# ecomops: `make run` starts everything, `make test` runs the suite. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test test-quick lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(RUN_STAMP) $@

run: $(RUN_STAMP)
	$(PY) -m ecomops.devserver

test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The quick subset on SQLite and an embedded Redis (CI runs this too, so the no-services path stays green).
test-quick: $(DEV_STAMP)
	env -u REDIS_URL -u DATABASE_URL ECOMOPS_VAR_DIR=$(CURDIR)/var/quick $(PY) -m ecomops.embedded_redis -- $(PY) -m pytest -m quick $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf var/staticfiles .pytest_cache
