"""The dialect's op list (dialects/fxp/oplist.py), op-property sets (traits.py) and the `work` accessor."""

import inspect

import pytest

import fxflow.dialects.fxp as fxp
from fxflow.dialects import new_context
from fxflow.dialects.fxp import accessors, oplist, traits
from fxflow.ir import ir


def _defined_ops():
    mods = (fxp.elementwise, fxp.layers, fxp.shape, fxp.tables, fxp.transformer, fxp.recurrent)
    return {c for m in mods for _, c in inspect.getmembers(m, inspect.isclass)
            if issubclass(c, fxp.Fxp.Operation) and c is not fxp.Fxp.Operation and c.__module__ == m.__name__}


def test_op_list_is_every_op_the_dialect_defines():
    ops = oplist.FXP_OPS + oplist.REGION_OPS
    assert set(ops) == _defined_ops()
    assert len(ops) == len(set(ops))


def test_sets_test_names_ops_and_views():
    assert "fxp.dense" in traits.MULTIPLIER_OPS and "fxp.relu" not in traits.MULTIPLIER_OPS
    assert traits.MULTIPLIER_OPS - traits.WEIGHTED_OPS == traits.OpSet(fxp.MatmulOp)
    assert "fxp.constant" not in traits.COMPUTE_OPS and "fxp.yield" not in traits.COMPUTE_OPS
    assert "fxp.rnn" in traits.COMPUTE_OPS and len(traits.COMPUTE_OPS) == len(oplist.FXP_OPS) - 1
    assert oplist.op_class("arith.addi") is None and oplist.op_class("fxp.pool") is fxp.PoolOp
    text = """func.func @f(%x: tensor<1x4xf64>) -> tensor<1x4xf64> {
      %y = "fxp.relu"(%x) : (tensor<1x4xf64>) -> tensor<1x4xf64>
      return %y : tensor<1x4xf64>
    }"""
    with new_context():
        m = ir.Module.parse(text)
        relu = m.body.operations[0].regions[0].blocks[0].operations[0]
        assert relu in traits.PER_POSITION and relu.operation in traits.COMPUTE_OPS
        assert oplist.op_class(relu) is oplist.op_class(relu.operation) is fxp.ReluOp
        assert relu not in traits.WINDOWED and accessors.work(relu) is None
        assert accessors.result_format(relu) is None and accessors.accum_format(relu) is None


def test_a_set_refuses_what_is_not_an_fxp_op():
    with pytest.raises(TypeError, match="not fxp ops"):
        traits.OpSet(int)


def test_fast_op_constructors_build_what_the_generated_ones_build():
    """dialects.load_all replaces the generated op constructors (inspect.Signature.bind per call) by a plain
    name match: the same ops from positional, keyword and defaulted arguments, the same TypeErrors otherwise."""
    with new_context(), ir.Location.unknown():
        module = ir.Module.create()
        f64 = ir.F64Type.get()
        t, w, b, y = (ir.RankedTensorType.get(s, f64) for s in ([1, 4], [4, 3], [3], [1, 3]))
        with ir.InsertionPoint(module.body):
            x = ir.Operation.create("tensor.empty", results=[t]).result
            wv = ir.Operation.create("tensor.empty", results=[w]).result
            bv = ir.Operation.create("tensor.empty", results=[b]).result
            built = []
            for init in (fxp.DenseOp.__init__, fxp.DenseOp.__init__.generated):
                assert fxp.DenseOp.__init__.binds_fast
                for args, kwargs in (((x, wv, bv, y), {}), ((x,), {"weight": wv, "bias": bv, "output": y}),
                                     ((x, wv, bv, y), {"accum": ir.TypeAttr.get(ir.F32Type.get())})):
                    op = fxp.DenseOp.__new__(fxp.DenseOp)
                    init(op, *args, **kwargs)
                    built.append(str(op).split(" = ", 1)[1])  # without the SSA number
                for args, kwargs in (((x, wv, bv), {}), ((x, wv, bv, y), {"colour": 1}), ((x, wv, bv, y), {"input": x})):
                    with pytest.raises(TypeError):
                        fxp.DenseOp(*args, **kwargs)
        assert built[:3] == built[3:] and len(set(built)) == 2
