# RUN: %PYTHON %s | filecheck %s
# nn.LSTM / nn.GRU at import: each module stays whole (no unrolled mm/sigmoid/tanh chain) and becomes one
# fxp.rnn per layer at the module's location, inner layers returning their sequences; what the model reads
# picks the last layer's result (y[:, -1] and h_n[-1] share one op, the sequence and the last state share
# the inner layers); a time-major module reads a transposed input.
import torch

from fxflow.dialects import new_context
from fxflow.ir import layer_name
from fxflow.lowering.torch_import import import_torch


class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
        self.dec = torch.nn.GRU(4, 2)

    def forward(self, x):
        y, (h, c) = self.enc(x)
        z, _ = self.dec(y.transpose(0, 1))
        return z.transpose(0, 1)[:, -1] + y[:, -1].sum(-1, keepdim=True) + h[-1].sum(-1, keepdim=True)


torch.manual_seed(0)
imported = import_torch(Tagger(), torch.randn(2, 5, 3), new_context())
print("TEST: layers", imported.layer_names)
# CHECK-LABEL: TEST: layers ['enc', 'dec'
for op in imported.module.body.operations[0].regions[0].blocks[0].operations:
    name = op.operation.name
    if name == "fxp.rnn":
        a = op.operation.attributes
        print(name, layer_name(op.location), a["cell"], a["sequences"], op.operation.results[0].type)
    elif name == "func.call":
        print(name, layer_name(op.location))
# CHECK:      fxp.rnn enc "lstm" 1 : i64 tensor<1x5x4xf32>
# CHECK-NEXT: fxp.rnn enc "lstm" 1 : i64 tensor<1x5x4xf32>
# CHECK-NEXT: fxp.rnn enc "lstm" 0 : i64 tensor<1x4xf32>
# CHECK-NEXT: fxp.rnn dec "gru" 1 : i64 tensor<1x5x2xf32>
# CHECK-NOT:  fxp.rnn
print("TEST: no unrolled cell", "sigmoid" in str(imported.module), "tanh" in str(imported.module))
# CHECK-LABEL: TEST: no unrolled cell False False
