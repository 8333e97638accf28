# The two commands a newcomer needs: `make run` (the app with demo data) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format install migrate seed clean bench-ledger bench-billing

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Web + Celery worker + beat on SQLite and a filesystem broker, unless DATABASE_URL /
# CELERY_BROKER_URL point elsewhere. Ctrl-C stops every process honcho started.
run: seed
	$(VENV)/bin/honcho -f Procfile.dev start

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var .pytest_cache

# Benchmarks print their figures; they need PostgreSQL (BENCH_DATABASE_URL, default local).
bench-ledger: install
	$(PY) benchmarks/bench_ledger.py

bench-billing: install
	$(PY) benchmarks/bench_billing.py
