# The two commands: `make demo` runs the product, `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean messages

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The patients' languages: each locale/*/LC_MESSAGES/django.mo is committed
# beside its .po, as Django commits its own, so every way of installing has them.
# After editing a .po, compile again (polib, pure Python: no gettext tools);
# tests/i18n fails while a .mo differs from its .po.
messages: $(BIN)/.installed
	$(BIN)/python locale/compile.py

# axe-core for the browser tests' accessibility checks, from package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# The demo runs on the embedded defaults (an SQLite file, a filesystem Celery
# broker): the web server, a Celery worker and beat, from the Procfile.
demo: export DJANGO_DEBUG ?= true
demo: export GUNICORN_CMD_ARGS ?= --bind=127.0.0.1:8000
demo: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Aftercare desk demo"
	@echo "  Admin:  http://127.0.0.1:8000/admin/"
	@echo "  Login:  demo / aftercare-demo   (superuser: admin / aftercare-demo)"
	@echo "  API:    http://127.0.0.1:8000/api/docs/"
	@echo "  Check-in emails are printed below (console email backend)."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

test: $(BIN)/.installed node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache .mypy_cache
