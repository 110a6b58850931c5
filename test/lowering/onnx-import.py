# RUN: %PYTHON %s | filecheck %s
# The ONNX front-end: onnx.helper graph -> torch-mlir ONNX importer -> linalg on tensors, with every op
# located at the ONNX node it came from (unnamed nodes: <op_type>_<index>), the batch fixed to 1 and
# initializers as readable dense constants.
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from fxflow.dialects import new_context
from fxflow.ir import ir, layer_name
from fxflow.lowering.onnx_import import import_onnx

rng = np.random.default_rng(0)
inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
         for n, s in (("W1", (3, 4)), ("B1", (3,)), ("W2", (3, 2)), ("B2", (2,)))]
nodes = [
    helper.make_node("Gemm", ["x", "W1", "B1"], ["h"], name="fc1", transB=1),
    helper.make_node("Relu", ["h"], ["r"]),
    helper.make_node("MatMul", ["r", "W2"], ["m"], name="/head/MatMul"),
    helper.make_node("Add", ["m", "B2"], ["y"], name="/head/Add"),
]
graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])

ctx = new_context()
imported = import_onnx(model, ctx)
print("TEST: shapes", imported.input_shapes, imported.layer_names)
# CHECK-LABEL: TEST: shapes [(4,)] ['fc1', 'Relu_1', '/head/MatMul', '/head/Add']

print("TEST: ops")
unnamed = []


def visit(op):
    if op.name not in ("builtin.module", "func.func", "func.return") and not layer_name(op.location):
        unnamed.append(op.name)
    return ir.WalkResult.ADVANCE


imported.module.operation.walk(visit)
for op in imported.module.body.operations[0].regions[0].blocks[0].operations:
    if op.operation.name.startswith("linalg."):
        print(op.operation.name, layer_name(op.location))
print("unnamed:", unnamed)
# CHECK-LABEL: TEST: ops
# CHECK-NEXT:  linalg.fill fc1
# CHECK-NEXT:  linalg.matmul fc1
# CHECK-NEXT:  linalg.generic fc1
# CHECK-NEXT:  linalg.generic Relu_1
# CHECK-NEXT:  linalg.fill /head/MatMul
# CHECK-NEXT:  linalg.matmul /head/MatMul
# CHECK-NEXT:  linalg.generic /head/Add
# CHECK-NEXT:  unnamed: []
print(imported.module)
# CHECK:       func.func @net(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32>
# CHECK:       arith.constant dense<{{.*}}> : tensor<4x3xf32>
# CHECK-NOT:   dense_resource
