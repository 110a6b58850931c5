"""Feature-map layers on the AI Engines (lowering/aie/fmap.py): Conv2D (grouped, depthwise), MaxPool and Add as a
DAG (a residual reads one layer's result twice).  The simulated program equals `predict` bit for bit on every
device and operand mode, its mlir-aie text passes the structural check, every kernel passes the AIE API syntax check,
and layers a tile cannot hold are errors naming the layer and the limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from torch import nn

import fxflow
from fxflow.errors import FxflowError
from fxflow.lowering.aie.check import problems
from fxflow.lowering.aie.emit import emit_program
from fxflow.lowering.aie.kernels import check_syntax, render_kernels

from toolchains import needs

INT8 = {"model": {"precision": "ap_fixed<8,3>", "accum": "auto"}}
INT16X8 = {"model": {"precision": "ap_fixed<16,6>", "weight": "ap_fixed<8,2>", "accum": "exact"}}
INT16 = {"model": {"precision": "ap_fixed<16,6>", "accum": "auto"}}
MODES = {"8x8": INT8, "16x8": INT16X8, "16x16": INT16}
CASES = [("xcve2802", "8x8"), ("xcve2802", "16x8"), ("xcve2802", "16x16"), ("npu1", "8x8"), ("npu1", "16x16"),
         ("npu2", "8x8"), ("npu2", "16x8"), ("npu2", "16x16")]


class ResNetlet(nn.Module):
    """conv + ReLU, max pool, a residual block (conv + ReLU, add + ReLU), depthwise and grouped convs."""

    def __init__(self, c_in=3, c=16):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.grouped = nn.Conv2d(c, 2 * c, 1, groups=4)

    def forward(self, x):
        p = self.pool(torch.relu(self.conv1(x)))
        a = torch.relu(p + torch.relu(self.conv2(p)))
        return self.grouped(self.dw(a))


def _inputs(shape, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, *shape)) * 1.5).astype(np.float32)


def _compile(model, x, config, device="xcve2802"):
    torch.manual_seed(0)
    return fxflow.compile(model, torch.from_numpy(x[:1]), config, backend="aie", aie={"device": device})


@pytest.fixture(scope="module")
def resnetlet():
    """(model, inputs, designs): the compiled designs shared by the tests, per (device, mode)."""
    torch.manual_seed(0)
    model = ResNetlet().eval()
    x = _inputs((3, 8, 8))
    designs: dict = {}

    def design(device, mode):
        if (device, mode) not in designs:
            designs[(device, mode)] = _compile(model, x, MODES[mode], device)
        return designs[(device, mode)]

    return model, x, design


@pytest.mark.parametrize("device, mode", CASES)
def test_cnn_simulates_bit_exact_on_every_device(resnetlet, device, mode, tmp_path):
    _, x, design = resnetlet
    d = design(device, mode)
    prog = d.aie_program
    assert {k.role for k in prog.kernels} == {"conv", "dwconv", "pool", "add"}
    assert {k.mode for k in prog.kernels if k.role == "conv"} == {mode}
    y = d.predict(x, raw=True)
    assert np.array_equal(d.simulate(x, raw=True), y)
    assert np.unique(y).size > 8, "a (nearly) constant output would prove little"
    assert problems(prog) == []
    text = emit_program(prog)
    assert f"aie.device({device})" in text and "dimensionsToStream" in text or max(
        lay.cas_num for lay in prog.layers) == 1
    # the residual: pool's result FIFO is read by conv2 and the add (one broadcast)
    pool_fm = next(f for f in prog.fifos if f.name.startswith("pool") and f.name.endswith("_fm"))
    assert len(pool_fm.consumers) >= 2
    rep = d.report()
    assert [r["layer"] for r in rep["layers"]] == ["conv1", "pool", "conv2", "add", "dw", "grouped"] or \
        len(rep["layers"]) == 6
    assert all(r["interval"] > 0 for r in rep["layers"]) and rep["latency_ns"] > 0
    if (device, mode) == ("xcve2802", "8x8"):  # the project: one source per layer, the family headers
        out = d.write(tmp_path / "cnn")
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        assert files == ["README.md", "aie.mlir", "kernels/add.cc", "kernels/conv1.cc", "kernels/conv2.cc",
                         "kernels/dw.cc", "kernels/fxflow_add.h", "kernels/fxflow_dense.h", "kernels/fxflow_fmap.h",
                         "kernels/grouped.cc", "kernels/pool.cc", "placement.png"]
        assert "channels-last: the input [8][8][16] (3 channels" in (out / "README.md").read_text()


@pytest.mark.parametrize("device, mode", [c for c in CASES if c[0] != "npu1"])
def test_fmap_kernels_pass_the_aie_api_syntax_check(resnetlet, device, mode):
    needs("g++")
    prog = resnetlet[2](device, mode).aie_program
    files = render_kernels(prog)
    assert any(f.endswith("fxflow_fmap.h") for f in files) and any(f.endswith("fxflow_add.h") for f in files)
    assert check_syntax(files, prog.device) == {}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), c_in=st.integers(1, 5), c=st.sampled_from([4, 8, 20]),
       hw=st.integers(3, 7), k=st.sampled_from([1, 2, 3]), stride=st.sampled_from([1, 2]),
       pad=st.integers(0, 1), width=st.sampled_from([6, 8, 12, 16]), w8=st.booleans(), pool=st.booleans())
def test_random_conv_pool_add_simulate_equals_predict(seed, c_in, c, hw, k, stride, pad, width, w8, pool):
    torch.manual_seed(seed)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(c_in, c, k, stride=stride, padding=pad)
            self.b = nn.Conv2d(c, c, 1, groups=c if seed % 2 else 1)
            self.p = nn.MaxPool2d(2, stride=1, padding=seed % 2) if pool else nn.Identity()

        def forward(self, x):
            y = torch.relu(self.a(x))
            return self.p(y + self.b(y))

    out = (hw + 2 * pad - k) // stride + 1
    if out < 1 or (pool and out + 2 * (seed % 2) < 2):  # no conv output, or none left for the 2x2 pool
        return
    frac = width // 2 - 1
    x = _inputs((c_in, hw, hw), 4, seed)
    config = {"model": {"precision": f"ap_fixed<{width},{width - frac}>", "accum": "exact"}}
    if w8:
        config["model"]["weight"] = "ap_fixed<8,2>"
    d = _compile(Net().eval(), x, config)
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert problems(d.aie_program) == []


def test_conv_inside_the_graph_whose_input_map_overflows_a_tile_names_layer_and_limit():
    """Only the graph input's reader splits its rows: a layer's joined result leaves its memory tile whole."""
    model = nn.Sequential(nn.Conv2d(16, 16, 1), nn.Conv2d(16, 16, 3, padding=1)).eval()
    x = _inputs((16, 48, 48), 1)
    with pytest.raises(FxflowError, match=r"layer '1'.*feature map 48x48x16.*65536.*graph input's one reader"):
        _compile(model, x, INT8)


def test_conv_whose_bands_still_overflow_a_tile_names_layer_and_limit():
    model = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1)).eval()
    x = _inputs((16, 200, 200), 1)
    with pytest.raises(FxflowError, match=r"layer '0'.*feature map 200x200x16.*output rows split over \d tiles"):
        _compile(model, x, INT8)


def _band_geometry(prog, layer):
    """Per tile of a row-split layer: (input rows, output rows) of its kernel."""
    return [(k.params.h, k.params.oh) for k in prog.kernels if k.layer == layer]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), mode=st.sampled_from(list(MODES)), c_in=st.integers(1, 16),
       extra=st.integers(0, 12), k=st.sampled_from([1, 2, 3, 5]), stride=st.sampled_from([1, 2]),
       pad=st.integers(0, 2), dil=st.sampled_from([1, 2]), pool=st.booleans(), device=st.sampled_from(
           ["xcve2802", "npu2"]))
def test_input_map_larger_than_a_tile_splits_output_rows_bit_exact(seed, mode, c_in, extra, k, stride, pad, dil,
                                                                   pool, device):
    """A conv (or max pool) whose input map overflows one tile: its output rows over 2..N tiles, each holding
    its rows and halo, simulated == predict; every tile within its memory, the bands' pieces consecutive."""
    torch.manual_seed(seed)
    wide = mode != "8x8"  # 16-bit maps overflow a tile at half the pixels
    hw = (24 if wide else 36) + extra
    if pool:
        k = min(k, 3)
        first = nn.MaxPool2d(k, stride=stride, padding=min(pad, k // 2))
        f = c_in
    else:
        f = 8
        first = nn.Conv2d(c_in, f, k, stride=stride, padding=pad, dilation=dil)
    model = nn.Sequential(first, nn.ReLU() if not pool else nn.Identity()).eval()
    x = _inputs((c_in, hw, hw), 2, seed)
    d = _compile(model, x, MODES[mode], device)
    prog = d.aie_program
    lay = prog.layers[0]
    bands = _band_geometry(prog, lay.layer)
    if len(bands) == 1:  # the map fits one tile after all (a 1-channel 8-bit map, a cheap window)
        assert prog.inputs[0].rows == []
    else:
        assert lay.cas_num == len(bands) >= 2 and prog.inputs[0].rows
        oh = d.report()["layers"][0]
        assert sum(o for _, o in bands) == (hw + 2 * (pad if not pool else min(pad, k // 2))
                                            - (dil if not pool else 1) * (k - 1) - 1) // stride + 1
        link = next(li for li in prog.links if li.srcs == ["in0"])
        assert len(link.dsts) == len(bands) and oh["interval"] > 0
    assert problems(prog) == []
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


@pytest.mark.parametrize("device", ["xcve2802", "npu2"])
def test_row_split_conv_emits_bands_and_passes_the_checks(device, tmp_path):
    """48x48x16 int8 (72 KB double-buffered) overflows a tile: the stride-2 conv runs on output-row bands; the host
    sends each band (rows + halo) in turn, the kernels are one per band, and the cycle figure is the slowest band's
    (below the whole map's)."""
    from fxflow.lowering.aie import cost
    from fxflow.lowering.aie.arith import MODES as AIE_MODES
    from fxflow.lowering.aie.fmap import ConvGeo, conv_cycles

    model = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, stride=2), nn.ReLU(), nn.Conv2d(16, 8, 3, stride=2)).eval()
    x = _inputs((16, 48, 48), 2)
    d = _compile(model, x, INT8, device)
    prog = d.aie_program
    lay = prog.layers[0]
    bands = _band_geometry(prog, lay.layer)
    assert lay.cas_num == len(bands) >= 2 and lay.n_slice == 16
    assert prog.inputs[0].rows[0][0] == 0 and prog.inputs[0].rows[-1][1] == 48
    assert all(a[1] > b[0] for a, b in zip(prog.inputs[0].rows, prog.inputs[0].rows[1:]))  # the halo overlaps
    h, oh = max(bands)
    slowest = max(conv_cycles(AIE_MODES["8x8"], ConvGeo(h, 48, 16, oh, 24, 9, 16), "i8"),
                  cost.fifo_cycles(h * 48 * 16, "i8"), cost.fifo_cycles(24 * 24 * 16, "i8"))
    whole = conv_cycles(AIE_MODES["8x8"], ConvGeo(48, 48, 16, 24, 24, 9, 16), "i8")
    assert lay.interval == slowest < whole
    assert problems(prog) == []
    text = emit_program(prog)
    link = next(li for li in prog.links if li.srcs == ["in0"])
    assert f"aie.objectfifo.link [@in0] -> [{', '.join('@' + n for n in link.dsts)}]" in text
    assert len(link.dsts) == len(bands)
    if device.startswith("npu"):
        assert text.count("metadata = @in0") == len(bands)
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert f"row bands {prog.inputs[0].rows}" in d.write(tmp_path / "p").joinpath("README.md").read_text()
    needs("g++")
    files = render_kernels(prog)
    assert all(f"void {k.name}(" in files[f"kernels/{k.obj[:-2]}.cc"] for k in prog.kernels)
    assert check_syntax(files, prog.device) == {}


class AvgPools(nn.Module):
    """conv + ReLU, then an average pool (kernel, stride, padding drawn) and a global average pool."""

    def __init__(self, c_in, c, kernel, stride, padding, hw):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c, 1)
        self.avg = nn.AvgPool2d(kernel, stride, padding)
        oh, ow = ((v + 2 * padding - k) // stride + 1 for v, k in zip(hw, kernel))
        self.pools = 2 if oh * ow > 1 else 1
        self.gap = nn.AvgPool2d((oh, ow)) if oh * ow > 1 else nn.Identity()  # global: a window as large as the map

    def forward(self, x):
        return self.gap(self.avg(torch.relu(self.conv(x))))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))  # each example compiles a model: no shrinking
@given(mode=st.sampled_from(sorted(MODES)), c_in=st.integers(1, 3), c=st.sampled_from([4, 16, 20]),
       hw=st.tuples(st.integers(3, 7), st.integers(3, 7)), kernel=st.sampled_from([(2, 2), (3, 3), (2, 3), (1, 4)]),
       stride=st.integers(1, 2), seed=st.integers(0, 99))
def test_average_pools_simulate_bit_exact(mode, c_in, c, hw, kernel, stride, seed):
    """Average pools (power-of-two and other window sizes, zero padding counted in n) and a global average pool
    equal predict bit for bit (fxp.pool avg: the exact sum on the accumulator grid, / n toward zero, then the
    result format's rounding and overflow); their kernels pass the AIE API syntax check."""
    kernel = (min(kernel[0], hw[0]), min(kernel[1], hw[1]))
    padding = min(kernel) // 2 if stride == 1 else 0
    torch.manual_seed(seed)
    model = AvgPools(c_in, c, kernel, stride, padding, hw).eval()
    with torch.no_grad():
        model.conv.bias.uniform_(-2.0, 1.0)  # negative window sums too: division toward zero
    x = _inputs((c_in, *hw), 5, seed)
    d = _compile(model, x, MODES[mode])
    prog = d.aie_program
    assert [k.role for k in prog.kernels].count("avgpool") == model.pools
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert problems(prog) == []
    needs("g++")
    assert check_syntax(render_kernels(prog), prog.device) == {}


def test_average_pool_accumulator_wraps_or_is_named():
    """A WRAP accumulator narrower than the window sums: the sum wrapped to its width, bit-exact; a saturating one
    (each partial sum clamped in window order): an error naming the layer."""
    model = nn.Sequential(nn.Conv2d(2, 4, 1), nn.AvgPool2d(2)).eval()
    x = _inputs((2, 4, 4), 6) * 3
    d = _compile(model, x, {**INT8, "layers": {"1": {"accum": "ap_fixed<6,1>"}}})
    assert [k.params.wrap for k in d.aie_program.kernels if k.role == "avgpool"] == [[1, 6]]
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    cfg = {**INT8, "layers": {"1": {"accum": "ap_fixed<8,3,AP_TRN,AP_SAT>"}}}
    with pytest.raises(FxflowError, match=r"layer '1': the average pool's accumulator ap_fixed<8,3,AP_TRN,AP_SAT> "
                                          r"does not hold the exact sum of 4 inputs"):
        _compile(model, x[:1], cfg)


@pytest.mark.parametrize("device", ["xcve2802", "npu2"])
def test_wide_conv_splits_output_channels_and_the_memory_tile_rejoins_them(device):
    """9 x 32 x 64 int8 weights overflow one 16 KB bank: the conv takes several tiles, whose output-channel slices
    the memory tile joins and re-lays out channels-last (dimensionsToStream) for the next conv."""
    model = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 8, 1)).eval()
    x = _inputs((32, 5, 5), 3)
    d = _compile(model, x, INT8, device)
    prog = d.aie_program
    first = prog.layers[0]
    assert first.cas_num > 1 and first.cas_num * first.n_slice >= 64
    fm = prog.fifo(f"{first.name}_fm")
    assert fm.dims and fm.dims[-1] == (first.n_slice, 1)
    assert "dimensionsToStream" in emit_program(prog) and problems(prog) == []
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def test_versal_planner_costs_conv_pool_add_on_the_ai_engines():
    """The Versal planner prices every feature-map layer on both targets (the AIE cost is the feature-map
    partition's); a plan putting them on the AIE is buildable (the PLIO bridges carry feature maps, see
    test_versal_fmap.py), so only the metric keeps this small one on PL."""
    model = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)).eval()
    x = _inputs((2, 6, 6), 4)
    d = fxflow.compile(model, torch.from_numpy(x[:1]), INT8, backend="versal", versal={"target_rate_mhz": 0.5})
    rows = {r["layer"]: r for r in d.report()["layers"]}
    assert rows["0"]["layers"] == ["0", "1"]  # conv + its ReLU: one unit, as the AIE fuses them
    for name in ("0", "2"):
        aie = rows[name]["aie"]
        assert aie is not None and aie["tiles"] == 1 and aie["interval_cycles"] > 0 and aie["memory_bytes"] > 0
    assert set(d.report()["plan"]["placement"].values()) == {"pl"}
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    planner = d.versal.planner  # the AIE plan of all three layers: priced, feasible, but of higher LARE
    plan = planner.evaluate((0, len(planner.units)))
    assert plan.aie["tiles"] == 2 and plan.feasible and plan.lare > planner.evaluate(None).lare


@pytest.mark.parametrize("mode", ["8x8", "16x16"])
def test_depthwise_conv_is_lane_wise(mode):
    """A depthwise conv multiplies each channel by its own taps (aie::mac on 16 channel lanes): its weights are
    [taps, channels], not the block-diagonal [taps * C, C] a grouped conv takes (128 channels would need 144 KB)."""
    model = nn.Sequential(nn.Conv2d(128, 128, 3, padding=1, groups=128, stride=2)).eval()
    x = _inputs((128, 6, 6), 3)
    d = _compile(model, x, MODES[mode])
    prog = d.aie_program
    assert {k.role for k in prog.kernels} == {"dwconv"}
    assert all(b.shape == (9, prog.layers[0].n_slice) for b in prog.buffers if b.bank == 2)
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert problems(prog) == [] and d.report()["layers"][0]["macs"] == 9 * 128 * 9


@pytest.mark.parametrize("mode", ["8x8", "16x16"])
def test_row_split_max_pool_kernels_pass_the_syntax_check(mode):
    """A max pool reading a 48x48x16 map: one kernel function per band (its rows, output rows, top padding)."""
    model = nn.Sequential(nn.MaxPool2d(3, stride=3, padding=1), nn.Conv2d(16, 8, 1)).eval()
    x = _inputs((16, 48, 48), 2)
    d = _compile(model, x, MODES[mode], "npu2")
    prog = d.aie_program
    pools = [k for k in prog.kernels if k.role == "pool"]
    assert len(pools) == prog.layers[0].cas_num >= 2 and len({(k.params.h, k.params.pad) for k in pools}) >= 2
    assert problems(prog) == [] and np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    needs("g++")
    files = render_kernels(prog)
    assert all(f"void {k.name}(" in files[f"kernels/{k.obj[:-2]}.cc"] for k in pools)
    assert check_syntax(files, prog.device) == {}


@pytest.mark.parametrize("window", [2, 3])
def test_average_pool_cycles_add_the_division_to_the_window_taps(window):
    """Per pixel and 16-channel chunk an average pool costs its taps (as a max pool) plus the division: three
    vector steps for a power-of-two window, a scalar division per lane otherwise (fmap.divide_steps)."""
    from fxflow.lowering.aie import cost
    from fxflow.lowering.aie.fmap import divide_steps

    x = _inputs((2, 6, 6), 1)
    cycles = {}
    for name, pool in (("max", nn.MaxPool2d(window, 1)), ("avg", nn.AvgPool2d(window, 1))):
        d = _compile(nn.Sequential(nn.Conv2d(2, 16, 1), pool).eval(), x, INT8)
        layer = d.report()["layers"][-1]
        cycles[name] = layer["kernel_cycles"]
    pixels = (6 - window + 1) ** 2
    n = window * window
    assert divide_steps(n) == (3 if n == 4 else 16 * cost.SCALAR_DIVIDE_BY_CONSTANT)
    # the same FIFO legs (same shapes and storage): the interval is the larger of them and the kernel's steps
    assert cycles["avg"] == max(cycles["max"], pixels * (n + divide_steps(n)) + cost.CALL_OVERHEAD)
    assert cycles["avg"] > cycles["max"] or n == 4
