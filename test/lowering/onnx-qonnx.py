# RUN: %PYTHON %s | filecheck %s
# The QONNX front-end: Quant / Trunc / BipolarQuant / QDQ nodes are rewritten into standard ONNX before
# torch-mlir (every new node named like its quantizer), weights are quantized at import with their formats
# recorded on the function, and convert-fake-quant-to-fxp turns each activation quantizer into one fxp.cast.
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from fxflow.dialects import new_context
from fxflow.ir import ir, layer_name
from fxflow.lowering.fake_quant_to_fxp import convert_fake_quant_to_fxp
from fxflow.lowering.onnx_import import import_onnx

Q = "qonnx.custom_op.general"
inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in (
    ("W", [[0.3, -0.7], [1.2, 0.05], [-0.4, 0.61]]), ("s3", 2.0**-3), ("s4", 2.0**-4), ("s1", 0.5), ("zp", 0.0),
    ("b4", 4.0), ("b8", 8.0), ("b12", 12.0), ("b6", 6.0))]
nodes = [
    helper.make_node("Quant", ["x", "s4", "zp", "b8"], ["xq"], name="in/quant", domain=Q, rounding_mode="HALF_UP"),
    helper.make_node("Quant", ["W", "s3", "zp", "b4"], ["Wq"], name="w quant", domain=Q, narrow=1),
    helper.make_node("MatMul", ["xq", "Wq"], ["m"], name="fc"),
    helper.make_node("Trunc", ["m", "s4", "zp", "b12", "s1", "b6"], ["t"], name="trunc", domain=Q),
    helper.make_node("Quant", ["t", "s1", "zp", "b6"], ["y"], name="out", domain=Q, signed=0, rounding_mode="down"),
]
graph = helper.make_graph(nodes, "qnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(Q, 1)])

ctx = new_context()
imported = import_onnx(model, ctx)
fn = imported.module.body.operations[0]
print("TEST: import", imported.layer_names)
print(fn.attributes["fxflow.model_formats"])
rounding = []


def visit(op):
    if op.name.startswith("math.") or op.name == "arith.select":
        rounding.append(f"{op.name}@{layer_name(op.location)}")
    return ir.WalkResult.ADVANCE


imported.module.operation.walk(visit)
print(" ".join(rounding))
# CHECK-LABEL: TEST: import ['in/quant', 'fc', 'trunc', 'out']
# CHECK-NEXT:  {fc.weight = "ap_fixed<4,1,AP_RND_CONV,AP_SAT_SYM>"}
# HALF_UP: select(v < 0, ceil(v - 0.5), floor(v + 0.5)) after the clamp (two selects); DOWN: ceil | floor
# CHECK-NEXT:  arith.select@in/quant arith.select@in/quant math.ceil@in/quant math.floor@in/quant arith.select@in/quant
# CHECK-SAME:  math.roundeven@trunc {{.*}} math.floor@trunc
# CHECK-SAME:  math.ceil@out math.floor@out arith.select@out

print("TEST: casts")
with ctx:
    convert_fake_quant_to_fxp(imported.module.operation)
for op in fn.regions[0].blocks[0].operations:
    if op.operation.name == "fxp.cast" and "fixed" in str(op.results[0].type):
        print(layer_name(op.location), op.results[0].type)
# CHECK-LABEL: TEST: casts
# CHECK-NEXT:  in/quant tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_INF", "SAT">>
# Trunc: half even to the input grid, 6 + 3 + 1 bits (the output clip alone decides), then FLOOR to 6 bits
# CHECK-NEXT:  trunc tensor<1x2x!fxp.fixed<1 : i32, 5 : i32, 4 : i32, "RND_CONV", "SAT">>
# CHECK-NEXT:  trunc tensor<1x2x!fxp.fixed<1 : i32, 4 : i32, 1 : i32, "TRN", "SAT">>
# CHECK-NEXT:  out tensor<1x2x!fxp.fixed<0 : i32, 5 : i32, 1 : i32, "TRN_ZERO", "SAT">>
# CHECK-NOT:   fxp.cast
