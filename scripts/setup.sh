#!/usr/bin/env bash
# Create .venv from Python 3.10 (Rasa 3.6 needs it) and install the pinned dependencies.
# Idempotent: does nothing when requirements.txt, constraints.txt and pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.installed
want=$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

find_python() {
  for candidate in "${PYTHON310:-}" python3.10 "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/3.10."*/bin/python3.10 | awk '{print $NF}')" /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  py=$(find_python) || {
    echo "error: Python 3.10 is required (Rasa 3.6 runs on 3.10 only): install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv', or set PYTHON310=/path/to/python3.10" >&2
    exit 1
  }
  echo "creating .venv with $py"
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip==24.0"
echo "installing dependencies (first time: a few minutes)"
.venv/bin/python -m pip install --quiet -r requirements.txt -c constraints.txt
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
echo "$want" > "$stamp"
