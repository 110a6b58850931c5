"""fxp-assign-precision takes fxp ops in functions only (passes/accepted_ops.py): any other op is named with its
location before the pass changes anything, as the user's error (UnsupportedOpError) when the user gave the IR,
as fxflow's bug (InternalError naming the pass that produced it) when fxflow's own pipeline did."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.dialects import new_context
from fxflow.errors import FxflowError, InternalError, UnsupportedOpError
from fxflow.ir import ir
from fxflow.passes.accepted_ops import first_unaccepted
from fxflow.passes.assign_precision import ACCEPTED_OPS, AssignPrecisionOptions
from fxflow.pipeline import run_passes

FUNCTION = """
func.func @f(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {{
  %0 = "fxp.lut"(%arg0) ({{
  ^bb0(%x: f32):
    %n = arith.negf %x : f32
    "fxp.yield"(%n) : (f32) -> ()
  }}) : (tensor<1x2xf32>) -> tensor<1x2xf32> loc("neg")
  %1 = {add}(%0, %0) : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32> loc("twice")
  %2 = {mul}(%1, %1) : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32> loc("square")
  return %2 : tensor<1x2xf32>
}}
"""
UNRAISED = FUNCTION.format(add='"arith.addf"', mul='"arith.mulf"')


def _assign(text: str, **options):
    ctx = new_context()
    with ctx, ir.Location.unknown():
        module = ir.Module.parse(text)
        before = str(module)
        try:
            run_passes(module, [("fxp-assign-precision", AssignPrecisionOptions(**options))])
        except (FxflowError, InternalError):
            assert str(module) == before  # rejected before anything changed
            raise
    return module


def test_the_first_op_not_accepted_in_program_order_skipping_the_bodies_of_accepted_ops():
    with new_context(), ir.Location.unknown():
        module = ir.Module.parse(UNRAISED)
        op = first_unaccepted(module.operation, ACCEPTED_OPS)
    assert op.name == "arith.addf" and "twice" in str(op.location)  # not the lut's arith.negf
    assert {"fxp.dense", "fxp.lut", "fxp.constant", "func.return"} <= ACCEPTED_OPS
    assert not {"fxp.yield", "arith.constant", "linalg.matmul", "func.call"} & ACCEPTED_OPS


def test_user_ir_with_an_op_not_raised_is_a_clean_error_naming_the_op_and_its_location():
    with pytest.raises(UnsupportedOpError) as err:
        _assign(UNRAISED)
    assert isinstance(err.value, FxflowError) and not isinstance(err.value, InternalError)
    assert "fxp-assign-precision: 'arith.addf' at loc(\"twice\"" in str(err.value)
    assert "convert-linalg-to-fxp" in str(err.value)
    assert err.value.layer == "twice" and "twice" in err.value.location


def test_our_pipeline_leaving_an_op_not_raised_is_an_internal_error_naming_the_pass():
    with pytest.raises(InternalError) as err:
        _assign(UNRAISED, produced_by="convert-linalg-to-fxp")
    assert not isinstance(err.value, FxflowError) and err.value.where == "convert-linalg-to-fxp"
    assert "'convert-linalg-to-fxp' left an op fxp-assign-precision does not accept" in str(err.value)
    assert "'arith.addf'" in str(err.value) and "bug in fxflow" in str(err.value)


class _CumSum(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=1)


def test_compile_names_the_raising_pass_when_it_lets_an_op_through(monkeypatch):
    from fxflow.lowering import linalg_to_fxp

    x = np.zeros((1, 4), dtype=np.float32)
    with pytest.raises(UnsupportedOpError, match="cumsum"):  # what the raising pass reports itself
        fxflow.compile(_CumSum(), x)
    monkeypatch.setattr(linalg_to_fxp, "_reject_leftovers", lambda module_op: None)  # a raising-pass bug
    with pytest.raises(InternalError) as err:
        fxflow.compile(_CumSum(), x)
    assert err.value.where == "convert-linalg-to-fxp" and "fxp-assign-precision" in str(err.value)


def test_the_same_function_raised_is_accepted():
    module = _assign(FUNCTION.format(add='"fxp.add"', mul='"fxp.mul"'), precision="ap_fixed<8,3>")
    assert "!fxp.fixed" in str(module)
