"""Every fxp op is implemented or declared unsupported (with a reason) by every concern and backend, and the
support matrix in docs/layers.md is the one the registries give (fxflow.tools.op_support)."""

import importlib

import pytest

from fxflow.dialects.fxp import FXP_OPS, DenseOp, OpRegistry, ReluOp, SoftmaxOp, op_class
from fxflow.tools import op_support


@pytest.fixture(scope="module")
def concerns():
    return op_support.concerns()


def test_every_concern_covers_every_op(concerns):
    names = {c.name for c in concerns}
    assert {"raising", "precision", "exactness", "emulator", "estimate", "HLS io_parallel", "HLS io_stream", "RTL",
            "AIE"} <= names
    bad = op_support.problems(FXP_OPS, concerns)
    assert not bad, "\n".join(bad)


def test_a_gap_is_reported_with_op_and_concern(concerns):
    emulator = next(c for c in concerns if c.name == "emulator")
    gap = op_support.Concern("emulator", {k: v for k, v in emulator.implemented.items() if k is not SoftmaxOp},
                             emulator.declared, emulator.where)
    both = op_support.Concern("RTL", {DenseOp: ""}, {DenseOp: "no"}, "rtl")
    blank = op_support.Concern("AIE", {}, {ReluOp: " "}, "aie")
    bad = op_support.problems([SoftmaxOp, DenseOp, ReluOp], [gap, both, blank])
    assert any(p.startswith("fxp.softmax: emulator neither implements") and "fxflow.emulator" in p for p in bad)
    assert any(p.startswith("fxp.dense: RTL both implements it and declares it") for p in bad)
    assert any(p.startswith("fxp.relu: AIE declares it without a reason") for p in bad)


def test_each_op_sits_in_its_family_file_in_every_concern():
    """precision, emulator, estimate, HLS, RTL and raising keep one module per op family, named like the dialect's
    files."""
    bad = op_support.misplaced()
    assert not bad, "\n".join(bad)
    assert op_support.family(SoftmaxOp) == "tables" and op_support.family(DenseOp) == "layers"
    assert {"precision", "emulator", "estimate", "HLS printer", "RTL"} <= set(op_support.family_files())
    assert op_support.raising_files()["fxflow.lowering.linalg_to_fxp.layers.conv_to_fxp"] == {"layers"}


def test_a_misplaced_entry_or_pattern_is_reported():
    bad = op_support.misplaced({"RTL": {DenseOp: "fxflow.lowering.rtl.ops.shape", ReluOp: "x.elementwise"}},
                               {"fxflow.lowering.linalg_to_fxp.shape.matmul_to_dense": {"layers"},
                                "fxflow.lowering.linalg_to_fxp.shape.grouped_conv": {"layers", "shape"}})
    assert bad == ["fxp.dense (layers): its RTL entry is in fxflow.lowering.rtl.ops.shape, not a <concern>.layers "
                   "module",
                   "raising pattern fxflow.lowering.linalg_to_fxp.shape.matmul_to_dense is in "
                   "fxflow.lowering.linalg_to_fxp.shape, not in the file of a family it produces "
                   "(linalg_to_fxp.{layers})"]


def test_imported_ops_are_built_by_the_named_importer():
    """A raising declaration names the module that builds the op instead of a pattern: it must build it."""
    from fxflow.lowering.linalg_to_fxp import IMPORTED

    for cls, reason in IMPORTED.items():
        module = importlib.import_module(reason.split(":", 1)[0])
        assert f"{cls.__name__}(" in open(module.__file__).read(), (cls.__name__, reason)


def test_registries_take_op_classes_only():
    reg = OpRegistry("test concern")
    with pytest.raises(TypeError, match="test concern: registered for 'fxp.dense', which is not an fxp op class"):
        reg.register(["fxp.dense"], object())
    reg.register([DenseOp], "entry")
    assert reg["fxp.dense"] == reg[DenseOp] == "entry" and "fxp.relu" not in reg and reg.get("func.return") is None
    assert op_class("fxp.dense") is DenseOp and op_class("fxp.nope") is None
    from fxflow.emulator import op_step

    with pytest.raises(TypeError, match="emulator step"):
        op_step("fxp.relu")


def test_docs_matrix_is_current():
    text = op_support.DOC.read_text()
    assert op_support.documented(text) == op_support.block(), \
        "docs/layers.md's support matrix is stale: run `python -m fxflow.tools.op_support --write`"
