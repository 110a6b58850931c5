"""Approximate multipliers through the open RTL flow: the Verilog of each multiplier checked exhaustively
against its product table (Verilator), and its yosys LUT count as a hardware cost for `approx.search`.

Both run on `lowering.rtl.build.multiplier_design`, which prints every multiplier from its one bit-level
definition (the same DAG the emulator tabulates and the HLS C++ prints).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from fxflow.lowering.rtl import verilator, yosys
from fxflow.errors import FxflowError


def _design(specs, wa, sa, wb, sb):
    from fxflow.approx.multiplier import build
    from fxflow.lowering.rtl.build import multiplier_design

    mults = [build(spec, wa, sa, wb, sb) for spec in specs]
    return mults, multiplier_design(mults)


def verify(specs, wa: int = 8, sa: bool = True, wb: int = 8, sb: bool = True, verbose: bool = False) -> int:
    """Simulate every operand pair of every multiplier in Verilator and compare with its table; returns the
    number of pairs checked, raises FxflowError naming the first differing multiplier and pair."""
    mults, rtl = _design(specs, wa, sa, wb, sb)
    a = np.arange(rtl.inputs[0][1].min_int, rtl.inputs[0][1].max_int + 1)
    b = np.arange(rtl.inputs[1][1].min_int, rtl.inputs[1][1].max_int + 1)
    av, bv = (g.ravel() for g in np.meshgrid(a, b, indexing="ij"))
    got, _ = verilator.run(verilator.build(rtl, verbose=verbose), rtl, np.stack([av, bv], axis=1))
    for j, m in enumerate(mults):
        want = m(av, bv)
        bad = np.flatnonzero(got[:, j] != want)
        if bad.size:
            i = bad[0]
            raise FxflowError(f"the Verilog of multiplier '{m.spec}' gives {got[i, j]} for {av[i]} x {bv[i]}, "
                              f"its definition {want[i]}")
    return int(av.size)


def lut_costs(specs, wa: int = 8, sa: bool = True, wb: int = 8, sb: bool = True, verbose: bool = False,
              into=None) -> dict:
    """{spec: yosys synth_xilinx -nodsp LUT count (LUT1-6 + INV, `yosys.counts`)} of each multiplier as a
    stand-alone module (an open-tool yardstick, not Vivado), cached under the fxflow cache by the Verilog, the
    yosys executable and the cell-counting rule.  `into` (a `fxflow.approx.cost.LutCosts`) records the counts
    for the estimator: pass it to `Design.report(lut_costs=...)`."""
    mults, rtl = _design(specs, wa, sa, wb, sb)
    sv = rtl.verilog()
    key = hashlib.sha256((sv + yosys.find_yosys() + repr(yosys.CELL_KINDS)).encode()).hexdigest()[:24]
    path = verilator.cache_dir().parent / "yosys" / f"{key}.json"
    if path.exists():
        by_module = json.loads(path.read_text())
    else:
        res = yosys.synth(sv, rtl.top, verbose=verbose, options="-nodsp")
        by_module = {name: counts["lut"] for name, counts in res["modules"].items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(by_module, sort_keys=True))
    missing = [spec for spec, m in zip(specs, mults) if f"{rtl.top}_{m.c_name}" not in by_module]
    if missing:  # never price a multiplier yosys did not report as free
        raise FxflowError(f"yosys reported no module for multiplier(s) {', '.join(missing)}")
    costs = {spec: by_module[f"{rtl.top}_{m.c_name}"] for spec, m in zip(specs, mults)}
    if into is not None:  # a report given `into` prices these multipliers by them
        for spec, m in zip(specs, mults):
            if costs[spec]:
                into.record(m, costs[spec])
    return costs


__all__ = ["verify", "lut_costs"]
