"""The external tools the tests need, checked in one place.

    pytestmark = pytest.mark.needs("g++", "ap_types")      # a whole module
    @pytest.mark.needs("verilator", "yosys", "circt")      # one test
    needs("ac_types")                                      # inside a test, once it is known to need it
    hls4ml = needs_module("hls4ml")                        # importorskip's replacement

A missing tool skips with the reason "missing tool: <tool> (...)".  In CI (`FXFLOW_REQUIRE_TOOLS=1`, set by
.ci/run) conftest.py turns every skip into a failure, so a green CI proves that the differential tests
(emulator == C-sim == Verilator == yosys) really ran.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import shutil

import pytest

REQUIRE_TOOLS = os.environ.get("FXFLOW_REQUIRE_TOOLS", "") not in ("", "0")


def _call(find):
    from fxflow.errors import ToolchainError

    try:
        find()
    except ToolchainError as e:
        return str(e)
    return None


def _module(name: str, hint: str):
    return None if importlib.util.find_spec(name) is not None else f"the Python package {name} is not installed ({hint})"


def _system(name: str):
    return None if shutil.which(name) else f"{name} is not on PATH (apt-get install {name}, or scripts/setup.sh as root)"


def _libm():
    import ctypes.util

    return None if ctypes.util.find_library("m") else "the C math library (libm) is not found"


def _pquant():
    if os.environ.setdefault("KERAS_BACKEND", "torch") != "torch":
        return f"pquant-ml needs KERAS_BACKEND=torch, the environment sets {os.environ['KERAS_BACKEND']}"
    return _module("pquant", "pip install -e '.[qat]'")


def _toolchain(name):
    from fxflow import toolchain

    return getattr(toolchain, name)


# tool -> a check returning None when the tool is there, else why it is not
CHECKS = {
    "g++": lambda: _call(_toolchain("find_cxx")),
    "ap_types": lambda: _call(_toolchain("find_ap_types")),
    "ac_types": lambda: _call(_toolchain("find_ac_types")),
    "verilator": lambda: _system("verilator"),
    "yosys": lambda: _system("yosys"),
    "circt": lambda: _module("circt", "pip install -e '.[rtl]'"),
    "hls4ml": lambda: _module("hls4ml", "pip install -e '.[csim]'"),
    "ray": lambda: _module("ray", "pip install -e '.[sweep]'"),
    "pquant": _pquant,
    "torch": lambda: _module("torch", "scripts/setup.sh installs torch==2.13.0"),
    **{m: (lambda m=m: _module(m, "pip install -e '.[zoo]'")) for m in ("brevitas", "qonnx", "onnxruntime",
                                                                       "onnxoptimizer")},
    "libm": _libm,
    "brevitas": lambda: _module("brevitas", "pip install -e '.[zoo]'"),
    "qonnx": lambda: _module("qonnx", "pip install -e '.[zoo]'"),
    "onnxruntime": lambda: _module("onnxruntime", "pip install -e '.[zoo]'"),
}


@functools.lru_cache(maxsize=None)
def why_missing(tool: str) -> str | None:
    """None when `tool` is usable, else the reason it is not."""
    if tool not in CHECKS:
        raise KeyError(f"unknown tool '{tool}' (known: {', '.join(CHECKS)}); add its check to toolchains.CHECKS")
    return CHECKS[tool]()


def missing_tool(tool: str, detail: str) -> None:
    """Skip the current test (or module) because `tool` is missing or unusable; a failure in CI."""
    pytest.skip(f"missing tool: {tool} ({detail})", allow_module_level=True)


def needs(*tools: str) -> None:
    """Skip (a failure in CI) unless every tool in `tools` is there."""
    for tool in tools:
        reason = why_missing(tool)
        if reason is not None:
            missing_tool(tool, reason)


def needs_module(name: str, tool: str | None = None):
    """Import and return the module `name`, after `needs(tool or name)`."""
    needs(tool or name)
    return importlib.import_module(name)


def have(*tools: str) -> bool:
    """Whether every tool is there, for a check that is only one part of a test; in CI a missing tool fails."""
    reasons = [(t, why_missing(t)) for t in tools if why_missing(t) is not None]
    if reasons and REQUIRE_TOOLS:
        pytest.fail(f"missing tool: {reasons[0][0]} ({reasons[0][1]}); FXFLOW_REQUIRE_TOOLS=1 needs it", pytrace=False)
    return not reasons
