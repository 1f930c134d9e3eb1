# The two commands a user needs: `make demo` (the main job) and `make test`.
# Both install what they need on a fresh Debian machine (apt as root, a venv in .venv).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := frr frr-pythontools gobgpd iproute2 iputils-ping curl tcpdump
STAMP := $(VENV)/.installed

.PHONY: demo soak test lint unit integration deps venv kube-bins bench bench-alloc bench-l2 bench-l2-heap bench-frr bench-gobgp bench-kube bench-e2e clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "apt: installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing Debian packages:$$missing (run as root to install)"; fi; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: venv
	$(VENV)/bin/pytest -q tests/unit

# kube-apiserver, etcd, kubectl and helm for the cluster tier, built from the Go module proxy
# into a cache outside the repo (tests/cluster/bins/build.py); the last line is their directory.
kube-bins:
	@python3 tests/cluster/bins/build.py

test: deps venv lint kube-bins
	$(VENV)/bin/pytest -q

demo: deps venv
	$(VENV)/bin/mlb lab demo

# the lab under continuous probes: 2,000 Services churned, a speaker restarted, an
# announcer child killed, a node frozen (docs/l2.md, Soak)
soak: deps venv
	$(VENV)/bin/python -m orchestrator.lab.soak --services 2000

bench: bench-alloc bench-l2 bench-l2-heap bench-frr bench-gobgp bench-kube

bench-alloc: venv
	$(PY) tests/bench/bench_alloc.py

bench-kube: venv
	$(PY) tests/bench/bench_kube.py

bench-l2: deps venv
	$(PY) tests/bench/bench_l2.py

bench-l2-heap: deps venv
	$(PY) tests/bench/bench_l2_heap.py

bench-frr: deps venv
	$(PY) tests/bench/bench_frr.py

bench-gobgp: deps venv
	$(PY) tests/bench/bench_gobgp.py

# the standalone system end to end, stage by stage (ARGS="--services 100 --backend frr")
bench-e2e: deps venv
	$(PY) tests/bench/bench_e2e.py $(ARGS)

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
