"""torch_import's per-signature decomposition (a deep model imports in seconds) gives the IR of torch.export's
whole-graph run_decompositions, locations and layer names included, and steps aside where it cannot."""

from __future__ import annotations

import pytest
import torch

import fxflow.lowering.torch_import as ti
from fxflow.ir import ir
from fxflow.lowering.recurrent_import import keep_recurrent


class Deep(torch.nn.Module):
    """Repeated blocks (Linear + ReLU / GELU, a residual add in forward) and a narrowing head."""

    def __init__(self, depth: int = 34):
        super().__init__()
        self.blocks = torch.nn.ModuleList(torch.nn.Linear(8, 8) for _ in range(depth))
        self.act = torch.nn.ReLU()
        self.gelu = torch.nn.GELU()
        self.head = torch.nn.Linear(8, 3)

    def forward(self, input):  # `input`: a name fx would rename, kept by run_decompositions
        x = input
        for i, blk in enumerate(self.blocks):
            x = x + (self.act if i % 2 else self.gelu)(blk(x))
        return self.head(x)


class Views(torch.nn.Module):
    """Dropout (eval), reshape/flatten/view, BatchNorm (eval) and a transposed conv output: ops whose
    decompositions alias or drop their input."""

    def __init__(self):
        super().__init__()
        self.fc, self.drop, self.bn = torch.nn.Linear(8, 8), torch.nn.Dropout(0.1), torch.nn.BatchNorm1d(8)

    def forward(self, x):
        y = self.drop(torch.relu(self.fc(x))).reshape(-1, 2, 4).flatten(1)
        return self.bn(y) + x.view(x.shape[0], 8) * 0.5


class Conv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return torch.tanh(self.conv(x)).transpose(2, 3).contiguous()


def _imported(model, x, per_signature: bool, monkeypatch):
    if not per_signature:
        monkeypatch.setattr(ti, "decompose_by_signature", lambda program, table: None)
    imp = ti.import_torch(model, (x,), ir.Context())
    monkeypatch.undo()
    return imp.module.operation.get_asm(enable_debug_info=True), imp.layer_names


def _table():
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    return keep_recurrent(get_decomposition_table())


@pytest.mark.parametrize("make,shape,layer", [
    (Deep, (1, 8), "blocks.33"),
    (lambda: torch.nn.Sequential(*[Views() for _ in range(21)]), (1, 8), "20.bn"),
    (lambda: torch.nn.Sequential(*[Conv() for _ in range(21)]), (1, 4, 5, 5), "20.conv"),
])
def test_per_signature_decomposition_imports_identically(make, shape, layer, monkeypatch):
    torch.manual_seed(0)
    model, x = make().eval(), torch.randn(*shape)
    program = torch.export.export(model, (x,), strict=False)
    assert ti.decompose_by_signature(program, _table()) is not None  # the fast path is taken
    fast = _imported(model, x, True, monkeypatch)
    whole = _imported(model, x, False, monkeypatch)
    assert fast == whole
    assert layer in fast[1]
    if make is Deep:
        assert "loc(\"input\")" in fast[0]


@pytest.mark.parametrize("model,x", [
    (torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()), torch.zeros(1, 4)),  # few repeats
    (torch.nn.LSTM(3, 4, batch_first=True), torch.zeros(1, 5, 3)),  # multiple results
])
def test_whole_graph_decomposition_where_signatures_do_not_pay(model, x):
    program = torch.export.export(model.eval(), (x,), strict=False)
    assert ti.decompose_by_signature(program, _table()) is None
