# RUN: %PYTHON %s | filecheck %s
# The PyTorch front-end: torch.export -> torch-mlir FX importer -> linalg on tensors, with every op
# located at the PyTorch module path it came from and parameters as readable dense constants.
import torch

from fxflow.dialects import new_context
from fxflow.lowering.torch_import import import_torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        self.head = torch.nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.head(self.encoder(x))


torch.manual_seed(0)
ctx = new_context()
imported = import_torch(Net(), torch.randn(8, 4), ctx)
print("TEST: shapes", imported.input_shapes, imported.layer_names)
# CHECK-LABEL: TEST: shapes [(4,)] ['encoder.0', 'encoder.1', 'head']
from fxflow.ir import ir, layer_name  # noqa: E402

print("TEST: ops")
for op in imported.module.body.operations[0].regions[0].blocks[0].operations:
    if op.operation.name.startswith("linalg."):
        print(op.operation.name, layer_name(op.location))
# CHECK-LABEL: TEST: ops
# CHECK-NEXT:  linalg.transpose encoder.0
# CHECK-NEXT:  linalg.fill encoder.0
# CHECK-NEXT:  linalg.matmul encoder.0
# CHECK-NEXT:  linalg.generic encoder.0
# CHECK-NEXT:  linalg.generic encoder.1
# CHECK-NEXT:  linalg.transpose head
# CHECK-NEXT:  linalg.fill head
# CHECK-NEXT:  linalg.matmul head
# CHECK-NOT:   linalg.
print(imported.module)
# CHECK:       func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x2xf32>
# CHECK:       arith.constant dense<{{.*}}> : tensor<3x4xf32>
# CHECK-NOT:   dense_resource
