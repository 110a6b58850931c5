"""The lit test format of fxflow's FileCheck tests (test/lit.cfg.py): lit's ShTest, except that with
FXFLOW_REQUIRE_TOOLS=1 (CI, set by .ci/run) an UNSUPPORTED test (a `REQUIRES:` feature whose tool is
missing) is a failure naming the missing feature, so a green CI means every test ran.

A module of its own because lit's worker processes receive the format by pickling (by module path)."""

import os

import lit.formats
import lit.Test


def require_tools() -> bool:
    return os.environ.get("FXFLOW_REQUIRE_TOOLS", "") not in ("", "0")


class ShTest(lit.formats.ShTest):
    def execute(self, test, lit_config):
        result = super().execute(test, lit_config)
        if result.code == lit.Test.UNSUPPORTED and require_tools():
            return lit.Test.Result(lit.Test.FAIL, f"FXFLOW_REQUIRE_TOOLS=1 forbids an UNSUPPORTED test: {result.output}")
        return result
