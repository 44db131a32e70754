# Everyday commands. GNU make; a fresh Debian with Python 3.11 (python3-venv) needs nothing else:
# the embedded defaults are SQLite under var/ and a file-system Celery broker.
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
INSTALLED := $(VENV)/.installed
ADDRESS ?= 127.0.0.1:8000
SCALE ?= 100000
REQUESTS ?= 50
PYTEST_ARGS ?=
BENCHMARK_ARGS ?=
I18N_IGNORE := --ignore=.venv --ignore=node_modules --ignore=static --ignore=staticfiles --ignore=var

.PHONY: help install run test lint messages benchmark loadtest seed-large

help:
	@echo "make install     virtualenv in $(VENV) with the pinned packages (again only when requirements change)"
	@echo "make run         migrate, demo data if the database is empty, web server + Celery worker and beat on $(ADDRESS)"
	@echo "make test        the test suite (PYTEST_ARGS=... for more options; parallel with pytest-xdist)"
	@echo "make lint        ruff"
	@echo "make messages    update and compile the German and English message catalogs"
	@echo "make seed-large  add a large data set (SCALE=$(SCALE) people) for the benchmark"
	@echo "make benchmark   server-side time and queries per page (REQUESTS=$(REQUESTS)), report in var/benchmarks/"
	@echo "make loadtest    mixed read workload against gunicorn on 127.0.0.1: requests/s, p50/p95"

install: $(INSTALLED)

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# DEBUG=1 unless set: runserver serves the static files, cookies work over plain http.
run seed-large: export DEBUG ?= 1

run: install
	$(MANAGE) migrate --noinput
	if command -v msgfmt >/dev/null 2>&1; then $(MANAGE) compilemessages $(I18N_IGNORE) -v0; fi
	$(MANAGE) seed_demo --if-empty
	ADDRESS=$(ADDRESS) scripts/run_dev.sh

test: install
	if $(BIN)/python -c "import xdist" 2>/dev/null; then parallel="-n auto"; else parallel=""; fi; \
	$(BIN)/pytest $$parallel $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

messages: install
	$(MANAGE) makemessages -l de -l en --no-location --no-obsolete $(I18N_IGNORE)
	$(MANAGE) compilemessages $(I18N_IGNORE)

seed-large: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --scale $(SCALE)

benchmark: install
	$(MANAGE) benchmark --requests $(REQUESTS) $(BENCHMARK_ARGS)

loadtest: install
	$(MANAGE) loadtest $(LOADTEST_ARGS)
