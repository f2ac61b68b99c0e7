# gapdesk: `make run` starts the bot, `make test` runs every test, `make check` is the
# fast gate (lint, types, layers, unit tests). Each installs what it needs first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
RASA_VENV := .venv-rasa
PIP_QUIET := --quiet --disable-pip-version-check
# This machine's pip config lists extra local indexes that may not exist; hide that noise.
PIP_FILTER := grep -v "is ignored: it is neither a file nor a directory" || true

# Rasa 3.6 needs CPython 3.10: GAPDESK_PYTHON310, else python3.10 on PATH, else pyenv's.
# $(call find_python,310,3.10) tries "$GAPDESK_PYTHON310", "python3.10" and
# "$(pyenv prefix 3.10)/bin/python" in turn, and prints the first whose version is
# (3, 10) ($(subst .,$(comma),3.10) writes the tuple "3,10").
define find_python
for candidate in "$${GAPDESK_PYTHON$(1):-}" "python$(2)" "$$(pyenv prefix $(2) 2>/dev/null | head -n1)/bin/python"; do \
  if [ -n "$$candidate" ] && "$$candidate" -c 'import sys; assert sys.version_info[:2] == ($(subst .,$(comma),$(2)))' 2>/dev/null; then \
    echo "$$candidate"; exit 0; fi; \
done; \
echo "gapdesk: CPython $(2) not found. Install it (e.g. 'pyenv install $(2)') or set GAPDESK_PYTHON$(1)=/path/to/python$(2)." >&2; exit 1
endef
comma := ,

.PHONY: help install browser balancer train run check test bench clean reset
OOS := data/datasets/banking77_oos
BITEXT := data/datasets/bitext_customer_support/bitext_customer_support_4514.csv
SHOP := var/benchmark/bitext_held_out
BENCH_POSTGRES ?= postgresql+psycopg2://postgres@127.0.0.1:5432/test

help:
	@echo "make run    install, train what changed, start Rasa, actions and the console (Ctrl-C stops)"
	@echo "make check  the fast gate: ruff, formatting, mypy, the layer contract, unit tests (.venv only)"
	@echo "make test   make check, then install, train what changed and run every other test"
	@echo "make bench  the bot's figures, the gap, topics and loop benchmarks (reports under var/)"
	@echo "make clean  delete the environments, node_modules and trained models (keeps var/)"
	@echo "make reset  delete var/: the SQLite database, conversations, accounts, secrets (asks first)"

$(RASA_VENV)/.installed: bot/requirements.txt
	@python=$$($(call find_python,310,3.10)); \
	echo "building $(RASA_VENV) with $$python"; \
	"$$python" -m venv $(RASA_VENV); \
	{ $(RASA_VENV)/bin/pip install $(PIP_QUIET) --upgrade pip setuptools wheel 2>&1; \
	  $(RASA_VENV)/bin/pip install $(PIP_QUIET) -r bot/requirements.txt 2>&1; } | $(PIP_FILTER)
	@$(RASA_VENV)/bin/python -c "import rasa, socketio; assert rasa.__version__ == '3.6.21'"
	@touch $@

$(VENV)/.installed: pyproject.toml
	@python=$$($(call find_python,311,3.11)); \
	echo "building $(VENV) with $$python"; \
	"$$python" -m venv $(VENV); \
	{ $(VENV)/bin/pip install $(PIP_QUIET) --upgrade pip setuptools wheel 2>&1; \
	  $(VENV)/bin/pip install $(PIP_QUIET) -e '.[dev]' 2>&1; } | $(PIP_FILTER)
	@$(VENV)/bin/python -c "import gapmodel, gapdesk, rasa_sdk, spacy, sklearn, sqlalchemy"
	@touch $@

# The web widget (rasa-webchat) from the npm registry, as locked in console/package-lock.json.
console/node_modules/.installed: console/package-lock.json
	@command -v npm >/dev/null || { echo "gapdesk: npm (Node.js) is needed for the web widget: apt-get install npm" >&2; exit 1; }
	@cd console && npm ci --omit=dev --no-audit --no-fund --loglevel=error
	@touch $@

install: $(RASA_VENV)/.installed $(VENV)/.installed console/node_modules/.installed

# $(call apt_install,PACKAGE,WHY): Debian's PACKAGE, when we may (root or password-less
# sudo); otherwise the tests that need it are left out with a one-line reason (CI fails).
define apt_install
if [ "$$(id -u)" = 0 ]; then apt_get="apt-get"; \
elif sudo -n true 2>/dev/null; then apt_get="sudo apt-get"; else apt_get=""; fi; \
if [ -n "$$apt_get" ]; then echo "installing Debian's $(1) for $(2)"; \
  $$apt_get install -y --no-install-recommends $(1) >/dev/null 2>&1 || \
  { $$apt_get update -qq && $$apt_get install -y --no-install-recommends $(1) >/dev/null; } || true; \
fi
endef

# Browser tests drive Debian's Chromium.
browser:
	@if [ ! -x /usr/bin/chromium ]; then $(call apt_install,chromium,the browser tests); fi

# HAProxy in front of several Rasa instances and action servers (GAPDESK_RASA_INSTANCES).
balancer:
	@if [ ! -x /usr/sbin/haproxy ]; then $(call apt_install,haproxy,the scale-out tests); fi

train: install
	@$(VENV)/bin/gapdesk train

run: train
	@$(VENV)/bin/gapdesk db upgrade
	@$(VENV)/bin/gapdesk demo seed
	@exec $(VENV)/bin/gapdesk up

# The fast gate needs only .venv: no Rasa environment, no widget, no trained bot.
UNIT := not e2e and not rasa_env
check: $(VENV)/.installed
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy gapmodel gapdesk actions console
	@$(VENV)/bin/python -m pytest -q tests/test_layers.py
	@$(VENV)/bin/python -m pytest -m "$(UNIT)" --ignore=tests/test_layers.py

# Everything: the gate first, then the tests that need Rasa, the trained bot or a browser.
test: check train browser balancer
	@$(VENV)/bin/python -m pytest -m "not ($(UNIT))"

bench: train
	@$(VENV)/bin/gapdesk figures
	@$(VENV)/bin/gapdesk benchmark --train $(OOS)/train $(OOS)/id-oos/train \
	  --test $(OOS)/test $(OOS)/id-oos/test --out var/benchmark/banking77_oos > /dev/null
	@$(VENV)/bin/gapdesk benchmark --train $(OOS)/train \
	  --test $(OOS)/test $(OOS)/id-oos/test --out var/benchmark/banking77_oos_no_own_oos > /dev/null
	@# Another bot, another business: Bitext's online shop, a quarter of its intents held out.
	@$(VENV)/bin/gapdesk data hold-out $(BITEXT) --out var/benchmark/bitext_held_out > /dev/null
	@$(VENV)/bin/gapdesk benchmark --train $(SHOP)/train.csv $(SHOP)/train_out_of_scope.csv \
	  --test $(SHOP)/test.csv --out var/benchmark/bitext > /dev/null
	@$(VENV)/bin/gapdesk benchmark --train $(SHOP)/train.csv \
	  --test $(SHOP)/test.csv --out var/benchmark/bitext_no_own_oos > /dev/null
	@# Unmet needs: the id-oos questions clustered into topics, against their hidden intents.
	@$(VENV)/bin/gapdesk benchmark topics --messages $(OOS)/id-oos/test \
	  --label-file label_original --out var/benchmark/topics > /dev/null
	@# The learning loop (about 15 min): 200 agent labels of replayed traffic, retrained.
	@$(VENV)/bin/gapdesk benchmark loop --train $(OOS)/train \
	  --traffic $(OOS)/test $(OOS)/id-oos/test --shuffle 0 --out var/benchmark/loop > /dev/null
	@# Many customers at once (about 15 min; one instance against two needs PostgreSQL,
	@# Redis and HAProxy), then 10,000 hostile inputs to every public endpoint (10 min).
	@$(VENV)/bin/gapdesk benchmark load --postgres $(BENCH_POSTGRES) --out var/benchmark/load > /dev/null
	@$(VENV)/bin/gapdesk benchmark fuzz --count 10000 --out var/benchmark/fuzz > /dev/null
	@for report in banking77_oos banking77_oos_no_own_oos bitext bitext_no_own_oos topics loop load fuzz; do \
	  echo "### $$report"; cat var/benchmark/$$report/report.md; done

# Rebuildable things only: var/ holds the database, Rasa's trackers and the secrets.
clean:
	rm -rf $(VENV) $(RASA_VENV) console/node_modules models

reset:
	@read -r -p "Delete var/ (the SQLite database with conversations and console accounts, Rasa's trackers, generated secrets)? Type yes: " answer; \
	  [ "$$answer" = yes ] || { echo "kept var/"; exit 1; }
	rm -rf var
