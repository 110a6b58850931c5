#!/usr/bin/env bash
# Create .venv with everything fxflow needs: torch 2.13.0 (CPU), the pinned torch-mlir wheel, the test
# tools, hls4ml 1.3.0 (for the real ap_types headers the C simulation compiles against) and pquant-ml.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
"${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" -e ".[test,csim,qat]"  # qat: pquant-ml (~10 s, pure Python) for the QAT import tests
command -v g++ >/dev/null 2>&1 || echo "warning: g++ not found; C simulation needs it (apt-get install g++)" >&2
echo "fxflow is set up in .venv"
