"""A bug in fxflow is an InternalError, never a user error: one of our passes leaving invalid IR, emitted C++
that g++ rejects, emitted Verilog that Verilator or yosys reject.  Each path is provoked here (a pass that
breaks the IR registered by the test, a monkeypatched emitter, broken Verilog) and checked for the type,
the message naming the pass or the file, and the drivers' "internal error" report and exit code."""

from __future__ import annotations

import numpy as np
import pytest

import fxflow
from fxflow.errors import INTERNAL_ERROR_EXIT_CODE, FxflowError, InternalError, IRError, ToolchainError
from fxflow.dialects import new_context
from fxflow.ir import ir
from fxflow.passes import PASSES, load_all
from fxflow.passes.registry import PassInfo
from fxflow.pipeline import run_passes

from models import mlp

VALID = "func.func @f(%a: i32) -> i32 {\n  return %a : i32\n}\n"
BREAKER = "test-drop-terminators"


def _drop_terminators(module_op, options) -> None:
    """A 'successful' pass that erases every func.return: blocks without a terminator fail verification."""
    for func in module_op.regions[0].blocks[0].operations:
        for block in func.regions[0].blocks:
            list(block.operations)[-1].erase()


@pytest.fixture
def breaker(monkeypatch):
    load_all()
    monkeypatch.setitem(PASSES, BREAKER, PassInfo(BREAKER, "test only: leaves invalid IR", _drop_terminators))


def _is_internal(err: BaseException, *words: str) -> None:
    assert isinstance(err, InternalError) and not isinstance(err, FxflowError)
    assert "bug in fxflow" in str(err)
    for w in words:
        assert w in str(err), (w, str(err))


def test_our_pass_leaving_invalid_ir_is_an_internal_error_naming_the_pass(breaker):
    ctx = new_context()
    with ctx, ir.Location.unknown():
        module = ir.Module.parse(VALID)
        with pytest.raises(InternalError) as err:
            run_passes(module, [BREAKER])
    _is_internal(err.value, f"pass '{BREAKER}'", "fails verification", "terminator")
    assert err.value.where == BREAKER


def test_input_ir_invalid_before_our_passes_stays_a_user_error(breaker):
    ctx = new_context()
    with ctx, ir.Location.unknown():
        module = ir.Module.parse(VALID)
        _drop_terminators(module.operation, None)  # the caller's IR is already broken
        with pytest.raises(IRError, match="invalid before the pass pipeline"):
            run_passes(module, [BREAKER])


def test_fxflow_opt_reports_an_internal_error_with_its_own_exit_code(breaker, tmp_path, capsys):
    from fxflow.tools import opt

    src = tmp_path / "in.mlir"
    src.write_text(VALID)
    assert opt.main([str(src), f"--pass-pipeline=builtin.module({BREAKER})"]) == INTERNAL_ERROR_EXIT_CODE
    err = capsys.readouterr().err
    assert "fxflow-opt: internal error (please report):" in err and BREAKER in err and "Traceback" not in err
    # a user error (an unknown pass) keeps exit code 1
    assert opt.main([str(src), "--pass-pipeline=builtin.module(no-such-pass)"]) == 1
    assert "internal error" not in capsys.readouterr().err


def test_fxflow_cli_reports_a_broken_pass_as_an_internal_error(monkeypatch, tmp_path, capsys):
    from fxflow.cli import main

    load_all()  # the compile driver's df-legalize-reuse pass now also drops the terminators
    info = PASSES["df-legalize-reuse"]

    def broken(module_op, options):
        info.run(module_op, options)
        _drop_terminators(module_op, None)

    monkeypatch.setitem(PASSES, "df-legalize-reuse", PassInfo(info.name, info.description, broken, info.options))
    rc = main(["example", "--no-csim", "--samples", "4", "-o", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert rc == INTERNAL_ERROR_EXIT_CODE and rc != 1
    assert "fxflow: internal error (please report):" in err and "df-legalize-reuse" in err
    assert "Traceback" not in err


def _corrupt_emitter(monkeypatch):
    """The HLS emitter writes a firmware file that does not compile (an emitter regression)."""
    from fxflow.lowering.hls import project

    render = project.render_project

    def bad(design):
        files = render(design)
        name = next(p for p in files if p.startswith("firmware/") and p.endswith(".cpp"))
        files[name] += "\nstatic int broken = undeclared_by_the_emitter;\n"
        return files

    monkeypatch.setattr(project, "render_project", bad)


@pytest.mark.needs("g++", "ap_types")
def test_emitted_cpp_that_does_not_compile_is_an_internal_error(monkeypatch, tmp_path):
    _corrupt_emitter(monkeypatch)
    x = np.random.default_rng(0).normal(size=(4, 4))
    design = fxflow.compile(mlp([4, 3, 2]), x[:1], output_dir=tmp_path / "p")
    with pytest.raises(InternalError) as err:
        design.csim(x, verbose=False)
    _is_internal(err.value, "does not compile", "firmware/", "undeclared_by_the_emitter")


@pytest.mark.needs("g++", "ap_types")
def test_fxflow_example_reports_uncompilable_cpp_as_an_internal_error(monkeypatch, tmp_path, capsys):
    from fxflow.cli import main

    _corrupt_emitter(monkeypatch)
    assert main(["example", "--samples", "4", "-o", str(tmp_path / "p")]) == INTERNAL_ERROR_EXIT_CODE
    err = capsys.readouterr().err
    assert "fxflow: internal error (please report):" in err and "undeclared_by_the_emitter" in err


@pytest.mark.needs("g++", "ap_types")
def test_a_header_missing_from_the_toolchain_stays_a_toolchain_error(tmp_path):
    from fxflow.lowering.hls import csim

    x = np.random.default_rng(0).normal(size=(4, 4))
    fxflow.compile(mlp([4, 3, 2]), x[:1]).write(tmp_path / "p")
    tb = tmp_path / "p" / "myproject_test.cpp"
    tb.write_text('#include "vendor_header_nobody_has.h"\n' + tb.read_text())
    with pytest.raises(ToolchainError, match="lacks the header vendor_header_nobody_has.h"):
        csim.build(tmp_path / "p", verbose=False)


@pytest.mark.needs("verilator", "circt")
def test_verilog_that_verilator_rejects_is_an_internal_error():
    from fxflow.lowering.rtl import verilator

    x = np.random.default_rng(0).normal(size=(4, 4))
    design = fxflow.compile(mlp([4, 3, 2]), x[:1], backend="rtl")
    with pytest.raises(InternalError) as err:
        verilator.build(design.rtl, verbose=False, verilog="module myproject(input clk;\nendmodule\n")
    _is_internal(err.value, "Verilator rejects", "myproject")
    assert err.value.where.endswith("myproject.sv")


@pytest.mark.needs("yosys")
def test_verilog_that_yosys_rejects_is_an_internal_error():
    from fxflow.lowering.rtl import yosys

    with pytest.raises(InternalError) as err:
        yosys.synth("module broken(input a;\nendmodule\n", "broken", verbose=False)
    _is_internal(err.value, "yosys rejects", "broken")


@pytest.mark.needs("circt")
def test_circt_ir_that_circt_rejects_is_an_internal_error():
    x = np.random.default_rng(0).normal(size=(4, 4))
    rtl = fxflow.compile(mlp([4, 3, 2]), x[:1], backend="rtl").rtl
    rtl._verilog = None
    with rtl.context:  # break the built IR: the top's hw.output terminator is gone
        top = next(op.operation for op in rtl.module.body.operations
                   if op.operation.name == "hw.module" and op.operation.attributes["sym_name"].value == rtl.top)
        list(top.regions[0].blocks[0].operations)[-1].erase()
    with pytest.raises(InternalError) as err:
        rtl.verilog()
    _is_internal(err.value, "CIRCT rejects", rtl.top)
