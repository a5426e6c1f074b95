# The two commands: `make run` and `make test`. Everything else is what they stand on.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: run test bench install translations compile-translations chromium r-survey postgres clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

compile-translations: install
	$(BIN)/pybabel compile -d translations
	$(BIN)/pybabel compile -D questionnaire -d translations

# Extract every marked string, merge into each catalog, compile. Translate what is new, then commit.
# Two domains: "messages" (staff interface: en, fr, nl, ru, ar) and "questionnaire" (returnees: 13 languages).
# New staff strings: translate them in each catalog, or list them with
# `python tools/fill_translations.py missing LANG > LANG.json`, translate, then `... fill LANG LANG.json`.
QUESTIONNAIRE_LANGUAGES := en fr nl ru uk ka hy ar fa ps ro pl pt_BR
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output --project=return-monitor .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --ignore-obsolete
	$(BIN)/pybabel extract -F babel-questionnaire.cfg --no-default-keywords -k N_ -k q_ -k t -o translations/questionnaire.pot --no-location --sort-output --project=return-monitor .
	@for lang in $(QUESTIONNAIRE_LANGUAGES); do \
	  test -f translations/$$lang/LC_MESSAGES/questionnaire.po || $(BIN)/pybabel init -D questionnaire -i translations/questionnaire.pot -d translations -l $$lang; \
	done
	$(BIN)/pybabel update -D questionnaire -i translations/questionnaire.pot -d translations --ignore-obsolete
	$(BIN)/pybabel compile -d translations
	$(BIN)/pybabel compile -D questionnaire -d translations

# The web app and the scheduler side by side; Ctrl-C stops both, cleanly. Both are started in the
# background (where a shell ignores Ctrl-C) and stopped by the trap, which names them: `kill 0` would
# signal the shell and make too, and the shell's own trap again, without end. FLASK_RUN_HOST and
# FLASK_RUN_PORT tell the scheduler too where the app listens (the links in the outbox point there).
run: compile-translations
	$(BIN)/monitor db upgrade
	$(BIN)/monitor demo --if-empty
	@echo "Starting the scheduler and the web app on http://$(HOST):$(PORT)/ (Ctrl-C stops both)"
	@export FLASK_RUN_HOST=$(HOST) FLASK_RUN_PORT=$(PORT); \
	trap 'stopping=1; kill $$web $$scheduler 2>/dev/null' INT TERM HUP; \
	$(BIN)/monitor scheduler --dispatch-seconds 30 & scheduler=$$!; \
	$(BIN)/monitor run & web=$$!; \
	wait $$web; status=$$?; \
	if [ -n "$$stopping" ]; then wait $$web 2>/dev/null; fi; \
	kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null; \
	if [ -n "$$stopping" ]; then echo "Stopped: the web app and the scheduler have ended."; \
	else echo "The web app ended (exit status $$status); the scheduler is stopped too."; exit $$status; fi

chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# R with the survey package: tests/test_reports_estimator.py checks the estimator against it.
r-survey:
	@Rscript -e 'library(survey)' >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq r-base-core r-cran-survey)

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true

test: install compile-translations chromium r-survey postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install compile-translations postgres
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache
