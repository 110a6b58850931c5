"""Documented public path kept after the layout move: this name is the module `fxflow.lowering.rtl.characterize`."""

import importlib
import sys

if __name__ == "__main__":  # `python -m fxflow.rtl.characterize`
    import runpy

    runpy.run_module("fxflow.lowering.rtl.characterize", run_name="__main__", alter_sys=True)
else:
    sys.modules[__name__] = importlib.import_module("fxflow.lowering.rtl.characterize")
