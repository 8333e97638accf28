# The two commands a newcomer needs: `make run` (the app with demo data) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Runs a command against PostgreSQL: the embedded server in var/pg (started, then stopped at the
# end) unless DATABASE_URL names one. See config/devdb.py.
DEVDB := $(PY) -m config.devdb

.PHONY: run test lint format install lock upgrade migrate seed clean messages bench-ledger bench-billing bench-balances bench-checkout bench-scaleout bench-web bench-api

UV := $(VENV)/bin/uv
# uv's own version, as uv.lock pins it (tomllib: no uv needed to read it).
UV_LOCKED = $$($(PY) -c 'import tomllib; print(next(p["version"] for p in tomllib.load(open("uv.lock", "rb"))["package"] if p["name"] == "uv"))')

# The venv holds exactly what uv.lock says (hashes checked), dev extra included, nothing else:
# `--locked` refuses a uv.lock that no longer matches pyproject.toml (run `make lock`), and the
# project itself is not installed (no packages; manage.py, pytest, celery and gunicorn run from
# the checkout). A fresh clone needs only python3: uv comes from PyPI at its locked version.
$(UV):
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_LOCKED)"

$(STAMP): pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --quiet --locked --extra dev --no-install-project
	touch $(STAMP)

# After editing dependencies in pyproject.toml: re-resolve uv.lock, keeping every other pin
# (needs only uv: the venv's sync would refuse the stale lock).
lock: | $(UV)
	$(UV) lock

# Upgrade: every package to the newest release that pyproject.toml's bounds allow
# (`make upgrade PACKAGE=django` upgrades one). Review the uv.lock diff, run `make test`, commit.
upgrade: | $(UV)
	$(UV) lock $(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade)

# Message catalogs: the .po files are committed, the .mo files are compiled here (pure Python,
# Babel; no GNU gettext needed) and never committed.
MO := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(STAMP)
	$(VENV)/bin/pybabel -q compile -i $< -o $@ -l $*

install: $(STAMP) $(MO)

# After marking or changing strings: adds new ones (untranslated) to every catalog, drops gone ones.
messages: install
	$(PY) -m config.i18n

migrate: install
	$(DEVDB) $(PY) manage.py migrate --noinput

seed: install
	$(DEVDB) sh -c '$(PY) manage.py migrate --noinput && $(PY) manage.py seed_demo'

# Web + Celery worker + beat on PostgreSQL (embedded unless DATABASE_URL is set) and a filesystem
# broker unless CELERY_BROKER_URL is set, on http://127.0.0.1:$PORT/ (8000). One launcher holds
# the database for all three; Ctrl-C stops every process honcho started, then the database.
run: install
	$(DEVDB) sh -c '$(PY) manage.py migrate --noinput && $(PY) manage.py seed_demo \
		&& exec $(VENV)/bin/honcho -f Procfile.dev start --port $${PORT:-8000}'

test: install
	$(DEVDB) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var .pytest_cache

# Benchmarks print their figures; they run on PostgreSQL: BENCH_DATABASE_URL, else a coprod_bench
# database on the embedded server (DATABASE_URL unset) or on 127.0.0.1:5432 (DATABASE_URL set).
bench-ledger: install
	$(DEVDB) $(PY) benchmarks/bench_ledger.py

bench-billing: install
	$(DEVDB) $(PY) benchmarks/bench_billing.py

bench-balances: install
	$(DEVDB) $(PY) benchmarks/bench_balances.py

bench-checkout: install
	$(DEVDB) $(PY) benchmarks/load_checkout.py

# 2 gunicorn instances, 3 Celery workers and 1 beat as separate processes bill 50 000 due
# subscriptions under web load (wrk if installed), then check one charge per recurrence. Its
# own `scaleout` database on that server; Redis on 127.0.0.1:6379 (databases 10 and 11).
# SCALEOUT_ARGS="--subscriptions 5000 --pgbouncer" (see --help).
bench-scaleout: install
	$(DEVDB) $(PY) benchmarks/scaleout.py $(SCALEOUT_ARGS)

# Every page of a producer, a cocreator and a buyer at a big producer's scale on gunicorn (2 sync
# workers, production settings) under wrk, against a hello-world view and the login page in the
# same run. Its own coprod_web database, kept between runs. WEB_ARGS="--scale 10" (see --help).
bench-web: install
	$(DEVDB) $(PY) benchmarks/bench_web.py $(WEB_ARGS)

# GET /api/v1/sales (first page) for a producer with 10 000 sales on gunicorn (2 sync workers,
# production settings), next to a hello-world view in the same run. Its own coprod_bench_api
# database. API_BENCH_ARGS="--sales 2000 --seconds 5" (see --help).
bench-api: install
	$(DEVDB) $(PY) benchmarks/bench_api.py $(API_BENCH_ARGS)
