# 电力营销智能客服 — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv/bin
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup train run test test-fast bench eval-nlu lint freeze clean tools scale-demo

## setup: create .venv (Python 3.10) and install pinned dependencies; fast when nothing changed
setup:
	@./scripts/setup.sh

## tools: .venv-tools, a second venv for tools whose pins conflict with Rasa 3.6's (schemathesis needs newer
## attrs/jsonschema); rebuilt when requirements-tools.txt changes
tools: .venv-tools/.installed
.venv-tools/.installed: requirements-tools.txt | setup
	@test -x .venv-tools/bin/python || "$$($(VENV)/python -c 'import sys; print(sys._base_executable)')" -m venv .venv-tools
	@.venv-tools/bin/python -m pip install --quiet -r requirements-tools.txt
	@touch $@

## train: train the Rasa model if config/domain/data changed (cached in ~/.cache/powerbot)
train: setup
	@$(VENV)/python scripts/train.py >/dev/null

## run: everything on embedded defaults (SQLite, in-memory stores); Ctrl-C stops
run: train
	@$(VENV)/bot run

## test: the whole suite (SQLite and PostgreSQL, Redis, fakes of WeChat and Twilio, browser)
test: train tools
	@$(VENV)/ruff check bot actions tests scripts
	@$(VENV)/pytest -q

## test-fast: the suite without Rasa servers, browsers, the wheel build and .venv-tools (markers
## `rasa`, `browser`, `wheel`, `tools`), spread over the machine's cores; a few minutes
test-fast: setup
	@$(VENV)/ruff check bot actions tests scripts
	@$(VENV)/pytest -q -n auto -m "not rasa and not browser and not wheel and not tools"

## bench: speed and quality numbers, written to reports/bench.md
bench: train
	@$(VENV)/python scripts/bench.py

## eval-nlu: validate data, evaluate on the held-out split, 5-fold cross-validation -> reports/nlu.md
eval-nlu: train
	@$(VENV)/python scripts/eval_nlu.py --cross-validation

## lint: static checks: ruff, mypy on bot/ and actions/ (configuration in pyproject.toml), and the
## Kubernetes manifests against their schemas, offline (from .venv-tools)
lint: setup tools
	@$(VENV)/ruff check bot actions tests scripts
	@$(VENV)/mypy
	@.venv-tools/bin/kubernetes-validate --strict --quiet deploy/k8s/*.yaml

## scale-demo: the production topology locally (2 Rasa + 2 action servers behind nginx, PostgreSQL,
## Redis, RabbitMQ, the job-queue worker); prints its URL; Ctrl-C stops
scale-demo: train
	@$(VENV)/python scripts/scale_demo.py

## freeze: regenerate constraints.txt from the current venv
freeze:
	@{ echo "# Full pin set of a working venv (pip freeze). Regenerate with: make freeze"; $(VENV)/pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf models var/demo .pytest_cache reports/tmp
