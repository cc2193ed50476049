# The two commands a newcomer needs: `make run` and `make test`. Everything else is here too.
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test quick install install-dev migrate messages lint format bench prodcheck drill worker beat clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	touch $(STAMP)

$(DEV_STAMP): requirements-dev.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(STAMP) $(DEV_STAMP)

install: $(STAMP)
install-dev: $(DEV_STAMP)

messages: $(STAMP)
	$(PY) manage.py compilemessages --ignore=.venv -v0

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput -v0

# The demo submits rosters over HTTP to the simulated central database served by the same
# process (centralsim/), unless the environment says otherwise.
run: export CENTRAL_TRANSPORT ?= http
run: export CENTRAL_HTTP_URL ?= http://127.0.0.1:$(PORT)/centralsim/iscom_api/
run: export CENTRAL_API_KEY ?= simulated-school-key
run: install messages migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# Both cores: xdist workers, the real-worker tests kept together (--dist loadgroup).
XDIST := -n auto --dist loadgroup

test: install-dev messages
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

# Day to day: everything but the browser and real-worker tests.
quick: install-dev messages
	$(PY) -m pytest $(XDIST) -m "not browser and not celery_worker" $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install-dev messages
	$(PY) bench/run.py

# docker-compose.yml's web, worker and beat, started here against local PostgreSQL, Redis
# and an S3 server, then used (deploy/prodcheck.py says what it checks).
prodcheck: install-dev
	$(PY) deploy/prodcheck.py

# The restore drill: the demo and uploaded files backed up (pg_dump, the bucket copied),
# wiped, restored and checked row by row and file by file, then signed in to
# (deploy/drill.py says what it checks). Its own database on DATABASE_URL's server.
drill: install-dev
	$(PY) -m deploy.drill

worker: install
	$(VENV)/bin/celery -A portfolio worker --loglevel=info

beat: install
	$(VENV)/bin/celery -A portfolio beat --loglevel=info

clean:
	rm -rf $(VENV) var staticfiles
