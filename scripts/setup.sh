#!/usr/bin/env bash
# Create .venv with everything fxflow needs: torch 2.13.0 (CPU), the pinned torch-mlir wheel, the test
# tools, hls4ml 1.3.0 (for the real ap_types headers the C simulation compiles against), pquant-ml, and
# for the RTL backend CIRCT's Python bindings (pip) plus Verilator and yosys (Debian packages, installed
# with apt-get when missing and we are root; otherwise a warning says what to install).  g++ (the C
# simulation) is installed the same way, and its absence is an error.
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
"${PIP[@]}" -e ".[test,csim,qat,rtl]"  # qat: pquant-ml (~10 s, pure Python); rtl: circt==1.62.0
"${PIP[@]}" -e ".[sweep]"  # sweep: ray==2.60.0 (design-space sweeps on Ray; fxflow.dse)
"${PIP[@]}" -e ".[zoo,da]"  # zoo: brevitas, qonnx, onnxruntime (model-zoo tests); da: da4ml (RTL size anchor)
missing=()  # Debian package names; the commands are g++, verilator, yosys
for tool in g++ verilator yosys; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (C simulation, RTL simulation and synthesis) with apt-get"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: ${missing[*]} not found; the C simulation needs g++, the RTL backend's rtl_sim/synth need" \
         "verilator and yosys (apt-get install ${missing[*]})" >&2
  fi
fi
if ! command -v g++ >/dev/null 2>&1; then
  echo "error: g++ is missing and could not be installed; the C simulation needs it: install the Debian package" \
       "g++ (apt-get install g++, as root) and run scripts/setup.sh again" >&2
  exit 1
fi
echo "fxflow is set up in .venv"
