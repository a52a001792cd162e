# ecomops: `make run` starts everything, `make test` runs the suite. Both create .venv on first use.
# Without DATABASE_URL / REDIS_URL both start an embedded PostgreSQL 18 and an embedded Redis (nothing to install).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test test-bare test-quick lint bench-http clean

# llama-cpp-python compiles llama.cpp for the build machine's CPU. On a CPU with AMX (Xeon Sapphire Rapids and
# later) that native build crashed in the first llama_decode here (SIGSEGV, 2026-12-03), with or without the
# GGML_AMX_* switches; a build for AVX2/AVX-512 without AMX runs. Set CMAKE_ARGS yourself to build otherwise.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# pip runs without --quiet: the first install builds llama-cpp-python from source (C++, several minutes) and the
# console must show that something is happening.
$(RUN_STAMP): requirements.txt | $(PY)
	@echo ">>> installing the runtime dependencies into $(VENV); the first time this builds llama-cpp-python from source (about 5 minutes on 2 idle cores, up to ~18 on a busy machine)"
	$(PY) -m pip install --progress-bar on -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	@echo ">>> installing the runtime and test dependencies into $(VENV); the first time this builds llama-cpp-python from source (about 5 minutes on 2 idle cores, up to ~18 on a busy machine)"
	$(PY) -m pip install --progress-bar on -r requirements-dev.txt
	touch $(RUN_STAMP) $@

run: $(RUN_STAMP)
	$(PY) -m ecomops.devserver

# The servers in DATABASE_URL / REDIS_URL when set, else an embedded PostgreSQL + Redis for the session
# (tests/embedded_services.py).
test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# What a fresh machine gets: the whole suite on the embedded PostgreSQL + Redis, whatever the environment says.
test-bare: $(DEV_STAMP)
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest $(PYTEST_ARGS)

# The fast subset (no models, no subprocesses), on the embedded servers.
test-quick: $(DEV_STAMP)
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -m quick $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

bench-http: $(DEV_STAMP)
	$(PY) bench/http.py --json var/bench-http.json

clean:
	rm -rf var/staticfiles .pytest_cache
