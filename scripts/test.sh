#!/usr/bin/env bash
# The whole test suite: lit (FileCheck) tests, the ctest C-sim of the bundled example, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/fxflow ] || ./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
JOBS=${JOBS:-2}
echo "== lit"
lit -sv -j"$JOBS" test
echo "== ctest (C simulation of the bundled example)"
cmake -S . -B build/cmake -DPython3_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
cmake --build build/cmake -j"$JOBS"
ctest --test-dir build/cmake --output-on-failure
echo "== pytest"
# -rs prints every skip's reason (a missing tool); FXFLOW_REQUIRE_TOOLS=1 (set by .ci/run) makes them failures
pytest -q -rs test/python
