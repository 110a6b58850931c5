"""Fuzz harness: hostile inputs must end in a clear fxflow error or in success, never in a crash.

    .venv/bin/python test/fuzz/harness.py --cases 10000 --seed 0      # the long run (docs/fuzzing.md)
    FXFLOW_FUZZ_CASES=10000 .venv/bin/pytest -q test/python/test_fuzz.py

Targets (one case = one kind and one integer seed, so every case is reproducible on its own):
  opt        mutated MLIR (the lit tests' inputs: lines dropped/duplicated/swapped, numbers and types replaced,
             bytes flipped, truncated) through `fxflow-opt` with one of its pipelines, or `fxflow-translate`
  onnx       mutated ONNX protobufs (fields, attributes, shapes, op types, initializers) and mutated bytes,
             compiled with `fxflow.compile`
  config     random configs (unknown keys, wrong types, absurd widths such as ap_fixed<0,0> or <5000,10>,
             reuse factors -1/0/10^9, hostile layer names) compiled and written
  data       NaN/Inf/huge/wrong-shaped inputs to `predict` (and `csim` when g++ and ap_types are there)

Pass: success, or a project exception (`fxflow.FxflowError`), or for the tools exit code 1 with an `error:`
diagnostic.  Fail: any other exception (a built-in one escaping; an `fxflow.errors.InternalError`, i.e. our own
pass leaving invalid IR or emitted C++/Verilog that does not compile), a tool's internal-error exit code, a
signal/abort of the worker, a case running longer than the timeout (a hang), or a file written outside the
case's output directory.

Cases run in a worker process (imports paid once); the parent kills and restarts it when it dies or hangs,
recording that case as a crash or a hang.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("opt", "onnx", "config", "data")
WEIGHTS = {"opt": 8, "onnx": 6, "config": 3, "data": 3}  # share of the cases per kind
CASE_TIMEOUT = 120.0  # seconds; the slowest legitimate case (a C-sim build) takes a few


# =====================================================================================================
# Case generation (worker side): everything derives from random.Random(seed)
# =====================================================================================================
PIPELINES = [
    "builtin.module(fxp-assign-precision)",
    "builtin.module(fxp-assign-precision{precision=auto input=ap_fixed<8,3>})",
    "builtin.module(fxp-assign-precision{precision=ap_fixed<4,2,AP_RND,AP_SAT>})",
    "builtin.module(convert-fake-quant-to-fxp,convert-linalg-to-fxp)",
    "builtin.module(convert-linalg-to-fxp,fxp-assign-precision,convert-fxp-to-df,df-legalize-reuse)",
    "builtin.module(convert-fxp-to-df{io-type=io_stream reuse-factor=3},df-legalize-reuse,df-size-fifos)",
    "builtin.module(convert-fxp-to-df,df-legalize-reuse,canonicalize,cse)",
    "builtin.module(fxp-assign-precision,convert-fxp-to-aie,aie-partition{batch=0},aie-place)",
    "builtin.module(aie-partition{device=npu2 max-tiles=1},aie-place{beam=0})",
    "builtin.module(df-size-fifos{samples=0 max-cycles=1})",
]
TRANSLATE = [["--emit-hls-cpp"], ["--emit-aie"], [], ["--emit-hls-cpp", "--no-such-flag"]]
HOSTILE_NAMES = ["../../etc/passwd", "/abs/path", "a\"; system(\"x\"); //", "", " ", "名前", "x" * 500, "con",
                 "\x00nul", "$(rm -rf ~)", "fc1", "..", "a/b/../../c"]
NUMBERS = ["0", "-1", "1", "999999999999999999999", "1e308", "-1e308", "nan", "inf", "0x7fffffff", "-0", "3.5", "65536"]
TYPES = ["f32", "i1", "i64", "f16", "index", "none", "!fxp.fixed<1 : i32, 3 : i32, 4 : i32, \"RND\", \"SAT\">",
         "!fxp.fixed<0 : i32, 0 : i32, 0 : i32, \"TRN\", \"WRAP\">", "!fxp.fixed<1 : i32, 5000 : i32, 10 : i32, \"X\", \"Y\">",
         "tensor<0xf32>", "tensor<?xf32>", "tensor<1x999999999xf32>"]


def _mlir_seeds() -> list[str]:
    out = []
    for path in sorted((ROOT / "test").rglob("*.mlir")):
        if "Output" in path.parts:  # lit's scratch files: not inputs (and they would change the seeds)
            continue
        text = path.read_text(errors="replace")
        for chunk in text.split("// -----"):
            body = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("//"))
            if body.strip():
                out.append(body)
    return out


def _mutate_text(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        what = rng.randrange(8)
        i = rng.randrange(len(lines))
        if what == 0:
            del lines[i]
        elif what == 1:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        elif what == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif what == 3:  # a number replaced
            import re

            nums = list(re.finditer(r"-?\d+(\.\d+)?(e[+-]?\d+)?", lines[i]))
            if nums:
                m = rng.choice(nums)
                lines[i] = lines[i][:m.start()] + rng.choice(NUMBERS) + lines[i][m.end():]
        elif what == 4:  # an element type replaced
            for t in ("f32", "i64", "!fxp.fixed<"):
                if t in lines[i]:
                    lines[i] = lines[i].replace(t, rng.choice(TYPES).rstrip(">") if t.endswith("<") else rng.choice(TYPES), 1)
                    break
        elif what == 5:  # bytes flipped
            b = bytearray(lines[i].encode())
            for _ in range(rng.randint(1, 3)):
                if b:
                    b[rng.randrange(len(b))] = rng.randrange(256)
            lines[i] = b.decode("utf-8", errors="replace")
        elif what == 6:  # a string attribute replaced by a hostile name
            import re

            s = list(re.finditer(r'"[^"]*"', lines[i]))
            if s:
                m = rng.choice(s)
                lines[i] = lines[i][:m.start()] + json.dumps(rng.choice(HOSTILE_NAMES)) + lines[i][m.end():]
        else:  # truncated
            lines = lines[:i]
            if lines:
                lines[-1] = lines[-1][:rng.randrange(len(lines[-1]) + 1)]
    return "\n".join(lines) + "\n"


def case_opt(rng: random.Random, work: Path):
    from fxflow.tools import opt, translate

    seeds = _mlir_seeds_cached()
    text = _mutate_text(rng, rng.choice(seeds)) if rng.random() < 0.95 else rng.choice(seeds)
    src = work / "in.mlir"
    src.write_text(text, errors="replace")
    out = work / "out" / "out.mlir"
    if rng.random() < 0.2:
        argv, tool = [str(src), *rng.choice(TRANSLATE), "-o", str(out)], translate
    else:
        argv, tool = [str(src), f"--pass-pipeline={rng.choice(PIPELINES)}", "-o", str(out)], opt
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            rc = tool.main(argv)
        except SystemExit as e:  # argparse's usage errors: exit code 2 with "error:"
            rc = e.code
    from fxflow.errors import INTERNAL_ERROR_EXIT_CODE

    if rc == INTERNAL_ERROR_EXIT_CODE:  # a bug in fxflow, reported as such: never a clean error
        raise FuzzFailure(f"{tool.TOOL} internal error: {err.getvalue()[-500:]!r}")
    if rc not in (0, 1, 2) or (rc != 0 and "error:" not in err.getvalue()):
        raise FuzzFailure(f"{tool.TOOL} exit code {rc} without an error diagnostic: {err.getvalue()[-300:]!r}")
    if "Traceback" in err.getvalue():
        raise FuzzFailure(f"{tool.TOOL} printed a traceback: {err.getvalue()[-500:]!r}")
    return "ok" if rc == 0 else "error"


_SEEDS: list = []


def _mlir_seeds_cached() -> list[str]:
    if not _SEEDS:
        _SEEDS.extend(_mlir_seeds())
    return _SEEDS


# --- ONNX ------------------------------------------------------------------------------------------------
def _onnx_seeds():
    sys.path.insert(0, str(ROOT / "test" / "python"))
    from test_model_exact import brevitas_cnn, brevitas_mlp
    from test_qonnx import qmlp

    return [qmlp(), brevitas_mlp("matmul_add"), brevitas_mlp("gemm"), brevitas_cnn(), _plain_mlp()]


def _plain_mlp():
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["h"], name="fc1", transB=1),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "W2"], ["y"], name="fc2")]
    inits = [numpy_helper.from_array(rng.normal(size=(5, 4)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.normal(size=5).astype(np.float32), "b"),
             numpy_helper.from_array(rng.normal(size=(5, 3)).astype(np.float32), "W2")]
    g = helper.make_graph(nodes, "plain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


_ONNX: list = []
OP_TYPES = ["Relu", "Gemm", "MatMul", "Add", "Conv", "MaxPool", "Quant", "Trunc", "Softmax", "Reshape", "Transpose",
            "CumSum", "Loop", "If", "Custom", "", "Resize", "Concat", "QuantizeLinear", "Sigmoid", "Split"]


def _mutate_proto(rng: random.Random, model) -> None:
    import numpy as np
    from onnx import helper, numpy_helper

    g = model.graph
    for _ in range(rng.randint(1, 3)):
        what = rng.randrange(9)
        if what == 0 and g.node:
            g.node[rng.randrange(len(g.node))].op_type = rng.choice(OP_TYPES)
        elif what == 1 and g.node:
            del g.node[rng.randrange(len(g.node))]
        elif what == 2 and g.node:  # an input rewired
            n = g.node[rng.randrange(len(g.node))]
            names = [v for m in g.node for v in m.output] + [t.name for t in g.initializer] + ["x", "", "missing"]
            if n.input:
                n.input[rng.randrange(len(n.input))] = rng.choice(names)
        elif what == 3 and g.node:  # an attribute value changed or added
            n = g.node[rng.randrange(len(g.node))]
            key = rng.choice(["axis", "transB", "kernel_shape", "pads", "strides", "signed", "narrow", "rounding_mode",
                              "perm", "group", "dilations", "alpha"])
            value = rng.choice([0, 1, -1, 10**9, [0, 0], [1, 1, 1, 1], [-3, 2], "ROUND", "CEIL", "garbage", 2.5,
                                float("nan")])
            kept = [a for a in n.attribute if a.name != key]
            del n.attribute[:]
            n.attribute.extend(kept + [helper.make_attribute(key, value)])
        elif what == 4 and g.initializer:  # an initializer replaced by odd values/shapes
            t = g.initializer[rng.randrange(len(g.initializer))]
            arr = numpy_helper.to_array(t)
            choice = rng.randrange(5)
            if choice == 0:
                new = np.full(arr.shape, rng.choice([np.nan, np.inf, -np.inf, 1e38, 0.0, 0.3]), np.float32)
            elif choice == 1:
                new = np.zeros([rng.randint(0, 3) for _ in range(rng.randint(0, 3))], np.float32)
            elif choice == 2:
                new = arr.astype(np.int64) if arr.dtype.kind == "f" else arr.astype(np.float32)
            elif choice == 3:
                new = np.array([rng.choice([0.0, -1.0, 2.0**-40, 64.0, 1e9])], np.float32)
            else:
                new = arr.reshape(-1)[:max(arr.size - 1, 0)]
            t.CopyFrom(numpy_helper.from_array(new, t.name))
        elif what == 5:  # input/output shapes
            vi = rng.choice(list(g.input) + list(g.output))
            dims = vi.type.tensor_type.shape.dim
            if dims:
                d = dims[rng.randrange(len(dims))]
                if rng.random() < 0.5:
                    d.dim_value = rng.choice([0, 1, 7, 10**6])
                else:
                    d.dim_param = rng.choice(["N", "M", "?"])
            vi.type.tensor_type.elem_type = rng.choice([1, 1, 1, 6, 7, 10, 11, 0])
        elif what == 6 and g.node:  # a node renamed to a hostile name
            g.node[rng.randrange(len(g.node))].name = rng.choice(HOSTILE_NAMES)
        elif what == 7:
            model.opset_import[0].version = rng.choice([1, 7, 10, 11, 13, 19, 21, 99])
        elif what == 8 and g.node:  # domain changed
            g.node[rng.randrange(len(g.node))].domain = rng.choice(["", "qonnx.custom_op.general", "ai.onnx.ml", "x"])


def case_onnx(rng: random.Random, work: Path):
    import onnx

    import fxflow

    if not _ONNX:
        _ONNX.extend(_onnx_seeds())
    model = onnx.ModelProto()
    model.CopyFrom(rng.choice(_ONNX))
    path = work / "m.onnx"
    if rng.random() < 0.35:  # bytes
        data = bytearray(model.SerializeToString())
        for _ in range(rng.randint(1, 8)):
            op = rng.randrange(3)
            i = rng.randrange(len(data)) if data else 0
            if op == 0 and data:
                data[i] = rng.randrange(256)
            elif op == 1:
                data[i:i + rng.randint(1, 16)] = b""
            else:
                data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.2:
            data = data[:rng.randrange(len(data) + 1)]
        path.write_bytes(bytes(data))
    else:
        _mutate_proto(rng, model)
        path.write_bytes(model.SerializeToString())
    fxflow.compile(path, output_dir=work / "out")
    return "ok"


# --- configs ----------------------------------------------------------------------------------------------
FORMATS = ["ap_fixed<0,0>", "ap_fixed<5000,10>", "ap_fixed<1,1>", "ap_ufixed<1,0>", "ap_fixed<8,3>", "ap_fixed<16,6>",
           "ap_fixed<8,-4>", "ap_fixed<8,20>", "ap_fixed<-3,2>", "ap_fixed<8,3,AP_BOGUS>", "ap_fixed<8,3,AP_RND,AP_SAT,2>",
           "ap_fixed<64,32>", "ap_fixed<65,1>", "ap_fixed<1024,512>", "auto", "exact", "AUTO", "ap_fixed<8>", "",
           "ap_int<8>", "float", "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>", "ap_fixed<2,2,AP_TRN,AP_WRAP>"]
ODD = [None, -1, 0, 10**9, 1.5, float("nan"), float("inf"), True, "1", [], {}, [1, 2], "latency", "resource", "x" * 100]


VALID = {"format": ["ap_fixed<8,3>", "ap_fixed<16,6>", "auto", "ap_fixed<2,2,AP_TRN,AP_WRAP>", "ap_ufixed<6,2>",
                    "ap_fixed<12,4,AP_RND_CONV,AP_SAT_SYM>", "ap_fixed<40,20>", "ap_fixed<1,1>"],
         "reuse_factor": [1, 2, 3, 4, 1000], "strategy": ["latency", "resource"], "softmax": ["stable", "argmax"],
         "table_size": [64, 1024], "auto_tolerance": [0.01, 0.5], "table_range": [[-4, 4]], "arithmetic": ["hls4ml"],
         "hls4ml_channels_last": ["off", "full"]}


def _random_value(rng, role, valid: bool = False):
    if valid:
        key = role if role in VALID else ("table_size" if role.endswith("table_size") else "format")
        return rng.choice(VALID[key])
    if role in ("reuse_factor",):
        return rng.choice([-1, 0, 1, 2, 3, 10**9, 2.0, "4", None, True])
    if role in ("strategy", "softmax", "arithmetic", "hls4ml_channels_last"):
        return rng.choice(["latency", "resource", "stable", "argmax", "hls4ml", "fxflow", "LATENCY", 7, None])
    if role in ("table_size", "exp_table_size", "inv_table_size"):
        return rng.choice([0, 1, 3, 1024, 2**40, -8, "big", None])
    if role == "auto_tolerance":
        return rng.choice([0, 1, 0.5, -0.1, float("nan"), 1e-300, "small"])
    if role == "table_range":
        return rng.choice([[0, 1], [1, 0], [float("nan"), 1], [-1e308, 1e308], [0], "x", None])
    return rng.choice(FORMATS) if rng.random() < 0.85 else rng.choice(ODD)


def random_config(rng: random.Random, layer_names: list[str]):
    from fxflow.config import LAYER_KEYS, MODEL_KEYS

    if rng.random() < 0.05:
        return rng.choice([None, [], "config", 3, {"model": 3}, {"layers": []}, {"bogus": {}}])
    valid = rng.random() < 0.5  # a config whose every value is legal: the case reaches the compiler
    if valid:
        model = {k: _random_value(rng, k, True) for k in rng.sample(MODEL_KEYS, rng.randint(0, 4)) if k != "accum"}
        if "input" in model and model["input"] == "auto":
            model["input"] = "ap_fixed<10,4>"
        return {"model": model, "layers": {n: {k: _random_value(rng, k, True)
                                               for k in rng.sample(["weight", "bias", "result", "reuse_factor"], 2)}
                                           for n in rng.sample(layer_names, rng.randint(0, 2))}}
    model = {k: _random_value(rng, k) for k in rng.sample(MODEL_KEYS, rng.randint(0, 4))}
    if rng.random() < 0.1:
        model[rng.choice(["precison", "Precision", "reuse", ""])] = "ap_fixed<8,3>"
    layers = {}
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(layer_names + HOSTILE_NAMES)
        layers[name] = {k: _random_value(rng, k) for k in rng.sample(LAYER_KEYS, rng.randint(0, 3))}
        if rng.random() < 0.1:
            layers[name]["typo_key"] = 1
    return {"model": model, "layers": layers}


_TORCH: list = []


def _tiny_models():
    import torch
    from torch import nn

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.Softmax(dim=1))
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 2))
    return [(mlp.eval(), torch.zeros(1, 4), ["0", "1", "2", "3"]), (cnn.eval(), torch.zeros(1, 1, 6, 6),
                                                                    ["0", "1", "2", "3", "4"])]


def case_config(rng: random.Random, work: Path):
    import fxflow

    if not _TORCH:
        _TORCH.extend(_tiny_models())
    model, x, names = rng.choice(_TORCH)
    cfg = random_config(rng, names)
    kw = {}
    if rng.random() < 0.3:
        kw["io_type"] = rng.choice(["io_stream", "io_parallel", "io_bogus"])
    if rng.random() < 0.2:
        kw["backend"] = rng.choice(["catapult", "vitis", "aie", "quartus"])
    if rng.random() < 0.2:
        kw["project_name"] = rng.choice(HOSTILE_NAMES)
    design = fxflow.compile(model, x, config=cfg, output_dir=work / "out", **kw)
    design.report()
    return "ok"


# --- data -------------------------------------------------------------------------------------------------
_DESIGNS: dict = {}


def _design(kind: str):
    import torch
    from torch import nn

    import fxflow

    if kind not in _DESIGNS:
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.Sigmoid()).eval()
        cfg = {"model": {"precision": "ap_fixed<10,4,AP_RND,AP_SAT>" if kind == "sat" else "ap_fixed<10,4>"}}
        _DESIGNS[kind] = fxflow.compile(model, torch.zeros(1, 4), config=cfg)
    return _DESIGNS[kind]


def random_inputs(rng: random.Random):
    import numpy as np

    n = rng.choice([1, 2, 7])
    special = [np.nan, np.inf, -np.inf, 1e300, -1e300, 1e38, 5e-324, -0.0, 2.0**53 + 1, 0.5]
    choice = rng.randrange(6)
    if choice == 0:
        return np.full((n, 4), rng.choice(special))
    if choice == 1:
        x = np.random.default_rng(rng.randrange(2**32)).normal(size=(n, 4))
        x.flat[rng.randrange(x.size)] = rng.choice(special)
        return x
    if choice == 2:  # wrong shapes and types
        return rng.choice([np.zeros((n, 5)), np.zeros((4,)), np.zeros((0, 4)), np.zeros((n, 4, 1)), "text", None,
                           [[1, 2, 3, 4]], [[1, "a", 3, 4]], np.zeros((n, 4), dtype=complex), object()])
    if choice == 3:
        return np.random.default_rng(rng.randrange(2**32)).normal(size=(n, 4)) * 10.0 ** rng.randint(0, 300)
    if choice == 4:
        return np.array([[1, 2, 3, 4]] * n, dtype=rng.choice([np.int8, np.int64, np.uint64, np.float16, bool]))
    return np.random.default_rng(rng.randrange(2**32)).normal(size=(n, 4)).astype(np.float32)


def case_data(rng: random.Random, work: Path):
    from fxflow.toolchain import find_ap_types, find_cxx

    design = _design(rng.choice(["wrap", "sat"]))
    x = random_inputs(rng)
    raw = rng.random() < 0.3
    if rng.random() < 0.1 and find_cxx() is not None and find_ap_types() is not None:
        import numpy as np

        got = design.csim(x, raw=raw, verbose=False)
        want = design.predict(x, raw=raw)
        if not np.array_equal(np.asarray(got), np.asarray(want)):
            raise FuzzFailure("csim and predict disagree on the same (accepted) input")
        return "ok"
    design.predict(x, raw=raw)
    return "ok"


CASES = {"opt": case_opt, "onnx": case_onnx, "config": case_config, "data": case_data}


class FuzzFailure(Exception):
    """A pass/fail rule of the harness itself was broken (not an exception of fxflow)."""


# =====================================================================================================
# Worker
# =====================================================================================================
def run_case(kind: str, seed: int, scratch: Path) -> dict:
    """One case in this process: {"kind", "seed", "status": ok|error|fail, "detail"}."""
    import warnings

    from fxflow.errors import FxflowError

    work = Path(tempfile.mkdtemp(dir=scratch))
    (work / "out").mkdir()
    before = _listing(scratch, work)
    targets = _hostile_targets(work / "out")
    existing = {p for p in targets if os.path.lexists(p)}
    rng = random.Random(f"{kind}:{seed}")
    result = {"kind": kind, "seed": seed}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result["status"] = CASES[kind](rng, work)
    except FxflowError as e:  # the user's input was wrong: a clean error (InternalError is not one)
        result["status"], result["detail"] = "error", f"{type(e).__name__}: {str(e)[:200]}"
    except FuzzFailure as e:
        result["status"], result["detail"] = "fail", str(e)
    except BaseException as e:  # noqa: BLE001 - exactly what the harness looks for
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = traceback.extract_tb(e.__traceback__)
        where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
        result["status"], result["detail"] = "fail", f"{type(e).__name__} at {where}: {str(e)[:300]}"
    escaped = _listing(scratch, work) - before
    escaped |= {str(p) for p in targets if p not in existing and os.path.lexists(p)}
    escaped |= {str(p) for p in work.iterdir() if p.name not in ("out", "in.mlir", "m.onnx")}
    if escaped and result["status"] != "fail":
        result["status"], result["detail"] = "fail", f"wrote outside the output directory: {sorted(escaped)[:3]}"
    shutil.rmtree(work, ignore_errors=True)
    return result


def _hostile_targets(out: Path) -> set:
    """Where a hostile name would land if it were used as a path unsanitized (outside `out`)."""
    found = set()
    for name in HOSTILE_NAMES:
        if "\x00" in name or not name.strip():
            continue
        for base in (out, out / "firmware", Path.cwd()):
            p = Path(os.path.normpath(base / name))
            if not str(p).startswith(str(out) + os.sep):
                found.add(p)
    return found


def _listing(scratch: Path, work: Path) -> set:
    """Every path under the scratch dir (and the current directory) outside this case's work dir."""
    out = set()
    for base in (scratch, Path.cwd()):
        for p in base.iterdir():
            if p != work and not str(p).startswith(str(work)):
                out.add(str(p))
    return out


def worker_main() -> int:
    """Read `kind seed` lines on stdin, answer JSON lines on the original stdout (fd 1 goes to /dev/null so
    native code printing there cannot corrupt the protocol)."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    scratch = Path(tempfile.mkdtemp(prefix="fxflow-fuzz-"))
    os.chdir(scratch)  # anything written relative to the cwd is seen by _listing
    import fxflow  # noqa: F401  (imports paid once, before the first case)
    import fxflow.lowering.torch_import  # noqa: F401

    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        kind, seed = line.split()
        proto.write(json.dumps(run_case(kind, int(seed), scratch)) + "\n")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


# =====================================================================================================
# Parent
# =====================================================================================================
class Worker:
    def __init__(self, startup_timeout: float = 300.0):
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT)
        ready = self._read(startup_timeout)
        if not ready or not ready.get("ready"):
            self.kill()
            raise RuntimeError("the fuzz worker did not start")

    def _read(self, timeout: float):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"dead": True}

    def run(self, kind: str, seed: int, timeout: float) -> dict:
        self.proc.stdin.write(f"{kind} {seed}\n")
        self.proc.stdin.flush()
        res = self._read(timeout)
        if res is None:
            self.kill()
            return {"kind": kind, "seed": seed, "status": "hang", "detail": f"no answer within {timeout:.0f} s"}
        if res.get("dead"):
            code = self.proc.wait()
            return {"kind": kind, "seed": seed, "status": "crash", "detail": f"worker died (exit code {code})"}
        return res

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def schedule(n: int, seed: int, kinds=KINDS) -> list[tuple[str, int]]:
    """n (kind, case seed) pairs in the WEIGHTS proportions, deterministic for `seed`."""
    total = sum(WEIGHTS[k] for k in kinds)
    counts = {k: n * WEIGHTS[k] // total for k in kinds}
    counts[kinds[0]] += n - sum(counts.values())
    cases = [(k, seed * 1_000_003 + i) for k in kinds for i in range(counts[k])]
    random.Random(seed).shuffle(cases)
    return cases


def run(n: int, seed: int = 0, timeout: float = CASE_TIMEOUT, kinds=KINDS, progress=None) -> dict:
    """Run n cases; the summary {"cases", "by_kind", "statuses", "failures": [...] , "seconds"}."""
    t0 = time.time()
    results = []
    worker = Worker()
    try:
        for i, (kind, s) in enumerate(schedule(n, seed, kinds)):
            if worker.proc.poll() is not None:
                worker = Worker()
            res = worker.run(kind, s, timeout)
            if res["status"] in ("hang", "crash"):
                worker = Worker()
            results.append(res)
            if progress and res["status"] in ("fail", "hang", "crash"):
                print(f"FAIL {res['kind']}:{res['seed']} {res['status']}: {res.get('detail', '')}", flush=True)
            if progress and (i + 1) % progress == 0:
                print(f"  {i + 1}/{n} cases, {sum(r['status'] in ('fail', 'hang', 'crash') for r in results)} "
                      f"failing, {time.time() - t0:.0f} s", flush=True)
    finally:
        worker.close()
    statuses = Counter(r["status"] for r in results)
    return {"cases": len(results), "by_kind": dict(Counter(r["kind"] for r in results)), "statuses": dict(statuses),
            "failures": [r for r in results if r["status"] in ("fail", "hang", "crash")],
            "seconds": round(time.time() - t0, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--timeout", type=float, default=CASE_TIMEOUT)
    p.add_argument("--replay", help="run one case in this process: KIND:SEED (prints the traceback)")
    args = p.parse_args(argv)
    if args.worker:
        return worker_main()
    if args.replay:
        kind, s = args.replay.split(":")
        scratch = Path(tempfile.mkdtemp(prefix="fxflow-fuzz-"))
        work = scratch / "case"
        (work / "out").mkdir(parents=True)
        print(CASES[kind](random.Random(f"{kind}:{int(s)}"), work))
        return 0
    summary = run(args.cases, args.seed, args.timeout, tuple(args.kinds.split(",")), progress=max(args.cases // 20, 1))
    bad = len(summary["failures"])
    print(f"{summary['cases']} cases {summary['by_kind']} in {summary['seconds']} s: {summary['statuses']}; "
          f"{bad} crashes/hangs/failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
