#!/usr/bin/env bash
# Set up everything the tests need, then run them. Extra arguments go to pytest:
#   bash scripts/test.sh                 the whole suite (what CI runs)
#   bash scripts/test.sh -m "not slow"   the quick suite
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
