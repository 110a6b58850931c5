# RUN: %PYTHON %s | filecheck %s
# The PyTorch front-end: torch.export -> torch-mlir FX importer -> linalg on tensors, with every op
# located at the PyTorch module path it came from and parameters as readable dense constants.
import torch

from fxflow.ir import new_context
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
print(imported.module.operation.get_asm(enable_debug_info=True))
# CHECK:     func.func @main(%arg0: tensor<1x4xf32>
# CHECK:     arith.constant dense<{{.*}}> : tensor<3x4xf32> loc(#[[ENC0:loc[0-9]+]])
# CHECK:     linalg.matmul {{.*}} loc(#[[ENC0]])
# CHECK:     arith.cmpf ugt
# CHECK:     linalg.matmul {{.*}} loc(#[[HEAD:loc[0-9]+]])
# CHECK-DAG: #[[ENC0]] = loc("encoder.0"(
# CHECK-DAG: #[[HEAD]] = loc("head"(
# CHECK-NOT: dense_resource
