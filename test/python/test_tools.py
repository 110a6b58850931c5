"""Unit tests of the tool driver pieces that lit cannot reach easily: designator matching for warnings and
remarks (no Python API emits those), pipeline splitting, translations, and the no-torch startup."""

import subprocess
import sys

import pytest

from fxflow.errors import FxflowError
from fxflow.tools import opt, translate
from fxflow.tools.common import Chunk, Diag, Source, parse_expectations, split_source, verify_diagnostics


def _chunk(text: str, name: str = "t.mlir") -> Chunk:
    return split_source(Source(name, text), False)[0]


def test_split_keeps_original_line_numbers():
    src = Source("s.mlir", "a\n// -----\nb\nc\n  // ----- trailing words\nd\n")
    chunks = split_source(src, True)
    assert [(c.first_line, c.text) for c in chunks] == [(1, "a"), (3, "b\nc"), (6, "d\n")]
    assert chunks[2].padded_text.split("\n")[5] == "d"


def test_designators_for_every_severity_and_offset():
    text = "\n".join([
        "op1 // expected-warning {{w1}}",            # 1
        "// expected-remark @+1 {{r2}}",             # 2
        "op3",                                        # 3
        "// expected-note @-1 {{n3}}",               # 4
        "// expected-error @below {{e6}}",           # 5
        "op6",                                        # 6
        "// expected-warning @above {{w6}}",         # 7
        "// expected-error @unknown {{anywhere}}",   # 8
        "// expected-remark-re {{r{{[0-9]+}}x}}",    # 9
    ])
    chunk = _chunk(text)
    expected, problems = parse_expectations(chunk)
    assert not problems
    assert sorted((e.severity, e.line) for e in expected if e.line is not None) == [
        ("error", 6), ("note", 3), ("remark", 3), ("remark", 9), ("warning", 1), ("warning", 6)]
    diags = [
        Diag("warning", "has w1 inside", "t.mlir", 1, 5),
        Diag("remark", "r2", "t.mlir", 3, 1, notes=[Diag("note", "n3", "t.mlir", 3, 1)]),
        Diag("error", "e6", "t.mlir", 6, 1),
        Diag("warning", "w6!", "t.mlir", 6, 2),
        Diag("error", "found anywhere", None),
        Diag("remark", "r42x", "t.mlir", 9, 1),
    ]
    assert verify_diagnostics(chunk, diags) == []


def test_mismatches_are_reported_like_mlir_opt():
    chunk = _chunk("op1 // expected-warning {{careful}}\nop2\n")
    problems = verify_diagnostics(chunk, [Diag("error", "careful", "t.mlir", 1, 1),
                                          Diag("remark", "chatty", "t.mlir", 2, 3)])
    messages = sorted(p.message for p in problems)
    assert messages == ['expected warning "careful" was not produced',
                        "unexpected error: careful", "unexpected remark: chatty"]
    # A diagnostic in another file never matches this file's designators.
    assert verify_diagnostics(_chunk("x // expected-error {{e}}"), [Diag("error", "e", "other.mlir", 1, 1)])


def test_pipeline_splitting():
    passes = {"fxp-x": None, "fxp-y": None}
    steps = opt.pipeline_steps(
        "builtin.module(fxp-x{a=1 b=\"ap_fixed<8, 3>\" flag}, canonicalize{top-down=false},"
        " func.func(cse, canonicalize), builtin.module(fxp-y))", passes)
    assert [(s.kind, s.name, s.options, s.text) for s in steps] == [
        ("fxflow", "fxp-x", {"a": "1", "b": "ap_fixed<8, 3>", "flag": "true"}, 'fxp-x{a=1 b="ap_fixed<8, 3>" flag}'),
        ("mlir", "canonicalize", {}, "canonicalize{top-down=false}"),
        ("mlir", "func.func", {}, "func.func(cse, canonicalize)"),
        ("fxflow", "fxp-y", {}, "fxp-y"),
    ]
    # A bare list is a module-level pipeline too.
    assert [s.name for s in opt.pipeline_steps("cse,fxp-y", passes)] == ["cse", "fxp-y"]
    with pytest.raises(opt.PipelineError, match="cannot be nested under 'func.func'"):
        opt.pipeline_steps("builtin.module(func.func(fxp-x))", passes)
    with pytest.raises(opt.PipelineError, match="unbalanced"):
        opt.pipeline_steps("builtin.module(cse", passes)


def test_flags_and_pipelines_keep_command_line_order():
    passes = {"fxp-x": None}
    steps, rest = opt.extract_pass_arguments(
        ["in.mlir", "--canonicalize", "--pass-pipeline=builtin.module(cse)", "--fxp-x=k=v",
         "-o", "out.mlir", "--cse", "--split-input-file"], passes)
    assert [(s.name, s.options, s.text) for s in steps] == [
        ("canonicalize", {}, "canonicalize"), ("cse", {}, "cse"), ("fxp-x", {"k": "v"}, ""), ("cse", {}, "cse")]
    assert rest == ["in.mlir", "-o", "out.mlir", "--split-input-file"]


@pytest.fixture
def fake_translations():
    from fxflow.passes import TRANSLATIONS, load_all

    load_all()

    def echo(module):
        return "ops: " + ",".join(op.operation.name for op in module.body.operations)

    def fails(module):
        raise FxflowError("cannot translate this design")

    def emits(module):
        module.body.operations[0].location.emit_error("unsupported here")
        return "partial"

    added = {"test-echo": ("echo op names", echo), "test-fail": ("always fails", fails),
             "test-emit": ("emits an error", emits)}
    TRANSLATIONS.update(added)
    yield
    for name in added:
        TRANSLATIONS.pop(name, None)


def test_translate_runs_a_registered_translation(fake_translations, tmp_path, capsys):
    src = tmp_path / "in.mlir"
    src.write_text("func.func @f() {\n  return\n}\n// -----\nfunc.func @g() {\n  return\n}\n")
    assert translate.main([str(src), "--test-echo"]) == 0
    assert capsys.readouterr().out == "ops: func.func,func.func\n"  # one module without splitting
    assert translate.main([str(src), "--test-echo", "--split-input-file"]) == 0
    assert capsys.readouterr().out == "ops: func.func\n// -----\nops: func.func\n"
    out = tmp_path / "out.txt"
    assert translate.main([str(src), "--test-echo", "-o", str(out)]) == 0
    assert out.read_text() == "ops: func.func,func.func\n"
    assert translate.main(["--list-translations"]) == 0
    assert "test-echo" in capsys.readouterr().out


def test_translate_errors_are_clean(fake_translations, tmp_path, capsys):
    src = tmp_path / "in.mlir"
    src.write_text("func.func @f() {\n  return\n}\n")
    assert translate.main([str(src), "--test-fail"]) == 1
    err = capsys.readouterr().err
    assert f"{src}: error: cannot translate this design" in err and "Traceback" not in err
    assert translate.main([str(src), "--test-emit"]) == 1
    captured = capsys.readouterr()
    assert f"{src}:1:1: error: unsupported here" in captured.err and captured.out == ""
    assert translate.main([str(src), "--test-echo", "--test-fail"]) == 1
    assert "choose exactly one translation" in capsys.readouterr().err


def test_opt_in_process_round_trip(tmp_path, capsys):
    src = tmp_path / "in.mlir"
    src.write_text("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                   '  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<4xf32>\n'
                   "  return %a : tensor<4xf32>\n}\n")
    assert opt.main([str(src), "--canonicalize"]) == 0
    out = capsys.readouterr().out
    assert '"fxp.relu"' not in out  # dead and Pure: canonicalize erased it
    assert opt.main([str(src)]) == 0
    assert '"fxp.relu"(%arg0)' in capsys.readouterr().out


def test_tool_startup_does_not_import_torch():
    """fxflow-opt/-translate must start fast: registering every pass must not pull in torch."""
    code = ("import sys, fxflow.tools.opt, fxflow.tools.translate, fxflow.passes; fxflow.passes.load_all(); "
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"importing the tools pulled in torch: {out.strip()[:200]}"


def test_pass_diagnostics_fail_the_pass_and_are_verifiable(tmp_path, capsys):
    """An fxflow pass that reports an error with `loc.emit_error` (without raising) fails the pipeline, and the
    error keeps its location (the bindings would otherwise drop it when the run succeeds)."""
    from fxflow.passes import PASSES, load_all, register_pass

    load_all()

    @register_pass("test-complain-about-relu", "emit an error at every fxp.relu")
    def complain(module_op, options):
        def visit(op):
            if op.name == "fxp.relu":
                op.location.emit_error("relu is not allowed here")
            from fxflow.ir import ir
            return ir.WalkResult.ADVANCE

        module_op.walk(visit)

    try:
        src = tmp_path / "in.mlir"
        src.write_text("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                       '  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<4xf32> // expected-error {{not allowed}}\n'
                       "  return %0 : tensor<4xf32>\n}\n")
        assert opt.main([str(src), "--test-complain-about-relu", "--cse"]) == 1
        captured = capsys.readouterr()
        assert f"{src}:2:8: error: relu is not allowed here" in captured.err and captured.out == ""
        assert opt.main([str(src), "--verify-diagnostics",
                         "--pass-pipeline=builtin.module(test-complain-about-relu)"]) == 0
    finally:
        PASSES.pop("test-complain-about-relu", None)
