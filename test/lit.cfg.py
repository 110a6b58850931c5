# lit configuration for fxflow's FileCheck tests.
#
#   .venv/bin/lit -j2 test/            # the whole suite
#   .venv/bin/lit -v test/dialects     # one directory, with failure details
#
# The tools run with the Python interpreter that runs lit (the venv's), so `fxflow-opt` always means this
# checkout's fxflow; the venv's bin directory (filecheck, torch-mlir-opt, not) comes first on PATH.
# test/python holds pytest's tests and is not a lit directory.

import importlib.util
import os
import shlex
import sys

config.name = "fxflow"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lit_format import ShTest  # noqa: E402

config.test_format = ShTest()  # with FXFLOW_REQUIRE_TOOLS=1, UNSUPPORTED (a missing tool) fails
config.suffixes = [".mlir", ".py"]
# test/fuzz holds the fuzz harness, which pytest runs (test/python/test_fuzz.py): not a lit test
config.excludes = ["lit.cfg.py", "lit_format.py", "python", "fuzz", "Inputs", "Output", "__pycache__"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = config.test_source_root

python = sys.executable
bindir = os.path.dirname(python)
config.environment["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
for var in ("HOME", "TMPDIR", "LANG", "LC_ALL", "CXX", "CC", "XILINX_HLS", "FXFLOW_AP_TYPES"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
# Unbuffered Python output keeps stdout and stderr in order for `2>&1 | filecheck`.
config.environment["PYTHONUNBUFFERED"] = "1"
config.environment["PYTHONDONTWRITEBYTECODE"] = "1"

py = shlex.quote(python)


def tool(name: str, module: str) -> tuple[str, str]:
    # Replace the tool name only where it stands alone as a command word, never inside a path such as
    # `%s` = .../fxflow-opt-split.mlir (lit substitutions are regular expressions).
    return (rf"(?<![\w/.%-]){name}(?![\w.-])", f"{py} -m {module}")


config.substitutions.append(("%PYTHON", py))
config.substitutions.append(("%irdl", f"{py} -m fxflow.tools.irdl"))
config.substitutions.append(tool("fxflow-opt", "fxflow.tools.opt"))
config.substitutions.append(tool("fxflow-translate", "fxflow.tools.translate"))

# Features for `REQUIRES:` lines: the optional tools a test needs (missing locally: UNSUPPORTED; in CI: FAIL).
if importlib.util.find_spec("circt") is not None:
    config.available_features.add("circt")
