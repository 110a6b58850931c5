"""Test helper: build `df.graph` MLIR text together with an independent reference of its semantics.

The reference follows the op docstrings with plain Python integers (stored integers n, value n * 2^-f);
only the final "assign to a format" (round with Q, then overflow with O) uses fxflow.fixed.quantize's
scalar functions.  Used by test_hls_emit.py.
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import quantize_scalar, requantize_int


def fmt_type(fmt: FixedFormat) -> str:
    return f'!fxp.fixed<{fmt.k} : i32, {fmt.i} : i32, {fmt.f} : i32, "{fmt.rounding}", "{fmt.overflow}">'


def tensor_type(shape, fmt: FixedFormat) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + fmt_type(fmt) + ">"


def _dense_literal(a: np.ndarray) -> str:
    if a.ndim == 1:
        return "[" + ", ".join(str(int(v)) for v in a) + "]"
    return "[" + ", ".join(_dense_literal(r) for r in a) + "]"


def _string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Kernel:
    """The body of one df.kernel under construction (MLIR lines + reference ops)."""

    def __init__(self, graph: "Graph", operands: list[str]):
        self.graph = graph
        self.lines: list[str] = []
        self.ops: list[tuple] = []
        self.types: dict[str, tuple] = {}
        self.args = []
        for i, v in enumerate(operands):
            name = f"%a{i}"
            self.types[name] = graph.types[v]
            self.args.append(name)
        self.n = 0

    def _new(self, shape, fmt) -> str:
        name = f"%t{self.n}"
        self.n += 1
        self.types[name] = (tuple(shape), fmt)
        return name

    def _t(self, v) -> str:
        return tensor_type(*self.types[v])

    def const(self, values, fmt: FixedFormat) -> str:
        values = np.asarray(values, dtype=np.int64)
        v = self._new(values.shape, fmt)
        self.lines.append(f'{v} = "fxp.constant"() {{value = dense<{_dense_literal(values)}> : '
                          f'tensor<{"x".join(map(str, values.shape))}xi64>}} : () -> {self._t(v)}')
        self.ops.append(("const", v, [int(n) for n in values.reshape(-1)]))
        return v

    def dense(self, x, w, b, accum: FixedFormat, out: FixedFormat) -> str:
        bsz = self.types[x][0][0]
        nn = self.types[w][0][1]
        v = self._new((bsz, nn), out)
        self.lines.append(f'{v} = "fxp.dense"({x}, {w}, {b}) {{accum = {fmt_type(accum)}}} : '
                          f'({self._t(x)}, {self._t(w)}, {self._t(b)}) -> {self._t(v)}')
        self.ops.append(("dense", v, x, w, b, accum))
        return v

    def _unary(self, op: str, x, out: FixedFormat) -> str:
        v = self._new(self.types[x][0], out)
        self.lines.append(f'{v} = "fxp.{op}"({x}) : ({self._t(x)}) -> {self._t(v)}')
        self.ops.append((op, v, x))
        return v

    def relu(self, x, out: FixedFormat) -> str:
        return self._unary("relu", x, out)

    def cast(self, x, out: FixedFormat) -> str:
        return self._unary("cast", x, out)

    def add(self, a, b, out: FixedFormat) -> str:
        v = self._new(self.types[a][0], out)
        self.lines.append(f'{v} = "fxp.add"({a}, {b}) : ({self._t(a)}, {self._t(b)}) -> {self._t(v)}')
        self.ops.append(("add", v, a, b))
        return v


class Graph:
    def __init__(self, name: str, inputs: list[tuple[tuple, FixedFormat]], io_type: str = "io_parallel"):
        self.name, self.io_type = name, io_type
        self.types: dict[str, tuple] = {}
        self.args = []
        for i, (shape, fmt) in enumerate(inputs):
            self.types[f"%x{i}"] = (tuple(shape), fmt)
            self.args.append(f"%x{i}")
        self.lines: list[str] = []
        self.steps: list[tuple] = []
        self.n = 0
        self.results: list[str] = []

    def kernel(self, name: str, operands: list[str], build, *, rf: int = 1, strategy: str = "latency",
               layer: str | None = None, channel: str | None = "array") -> list[str]:
        """`build(k, *args)` adds ops and returns the values to yield; returns the graph values
        (each passed through a df.channel of kind `channel` unless None)."""
        k = Kernel(self, operands)
        outs = build(k, *k.args)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        out_types = [k._t(o) for o in outs]
        in_types = [tensor_type(*self.types[v]) for v in operands]
        results = []
        for o in outs:
            r = f"%v{self.n}"
            self.n += 1
            self.types[r] = k.types[o]
            results.append(r)
        head = ", ".join(results) + " = " if len(results) > 1 else f"{results[0]} = "
        self.lines.append(f'{head}"df.kernel"({", ".join(operands)}) ({{')
        self.lines.append("^bb0(" + ", ".join(f"{a}: {t}" for a, t in zip(k.args, in_types)) + "):")
        self.lines += ["  " + line for line in k.lines]
        self.lines.append(f'  "df.yield"({", ".join(outs)}) {{operandSegmentSizes = array<i32: {len(outs)}, 0, 0, 0>}} : '
                          f'({", ".join(out_types)}) -> ()')
        attrs = (f'sym_name = {_string(name)}, layer = {_string(layer if layer is not None else name)}, '
                 f'reuse_factor = {rf} : i64, strategy = "{strategy}", '
                 f'operandSegmentSizes = array<i32: {len(operands)}, 0, 0, 0>, resultSegmentSizes = array<i32: {len(outs)}, 0, 0, 0>')
        self.lines.append(f'}}) {{{attrs}}} : ({", ".join(in_types)}) -> ({", ".join(out_types)})')
        self.steps.append(("kernel", k, operands, outs, results))
        if channel is None:
            return results
        chans = []
        for r in results:
            c = f"%v{self.n}"
            self.n += 1
            self.types[c] = self.types[r]
            t = tensor_type(*self.types[r])
            self.lines.append(f'{c} = "df.channel"({r}) {{kind = "{channel}", depth = 2 : i64}} : ({t}) -> {t}')
            self.steps.append(("alias", c, r))
            chans.append(c)
        return chans

    def ret(self, *values: str) -> "Graph":
        self.results = list(values)
        return self

    def text(self, module_attrs: str = "") -> str:
        ts = [tensor_type(*self.types[v]) for v in self.results]
        body = [f'"df.return"({", ".join(self.results)}) {{operandSegmentSizes = array<i32: {len(ts)}, 0, 0, 0>}} : '
                f'({", ".join(ts)}) -> ()']
        args = ", ".join(f"{a}: {tensor_type(*self.types[a])}" for a in self.args)
        inner = "\n".join("  " + line for line in self.lines + body)
        graph = (f'"df.graph"() ({{\n^bb0({args}):\n{inner}\n}}) '
                 f'{{sym_name = {_string(self.name)}, io_type = "{self.io_type}"}} : () -> ()\n')
        if module_attrs:
            return f"module attributes {{{module_attrs}}} {{\n{graph}}}\n"
        return graph

    # --- the reference ------------------------------------------------------------------------
    def reference(self, x) -> list[list[int]]:
        """Stored integers of all outputs (flattened, in result order) for float inputs x [N, sum(sizes)]."""
        x = np.asarray(x, dtype=np.float64)
        sizes = [math.prod(self.types[a][0]) for a in self.args]
        out = []
        for row in x.reshape(len(x), -1).tolist():
            env, pos = {}, 0
            for a, size in zip(self.args, sizes):
                fmt = self.types[a][1]
                env[a] = [quantize_scalar(v, fmt) for v in row[pos:pos + size]]
                pos += size
            for step in self.steps:
                if step[0] == "alias":
                    env[step[1]] = env[step[2]]
                    continue
                _, k, operands, outs, results = step
                kenv = {a: env[v] for a, v in zip(k.args, operands)}
                _run_kernel(k, kenv)
                for o, r in zip(outs, results):
                    env[r] = kenv[o]
            out.append([n for v in self.results for n in env[v]])
        return out


def _run_kernel(k: Kernel, env: dict) -> None:
    f = {v: t[1].f for v, t in k.types.items()}
    fmts = {v: t[1] for v, t in k.types.items()}
    for op in k.ops:
        kind, v = op[0], op[1]
        out = fmts[v]
        if kind == "const":
            env[v] = op[2]
        elif kind in ("cast", "relu"):
            x = op[2]
            vals = env[x] if kind == "cast" else [max(n, 0) for n in env[x]]
            env[v] = [requantize_int(n, f[x], out) for n in vals]
        elif kind == "add":
            a, b = op[2], op[3]
            ff = max(f[a], f[b])
            env[v] = [requantize_int((p << (ff - f[a])) + (q << (ff - f[b])), ff, out)
                      for p, q in zip(env[a], env[b])]
        elif kind == "dense":
            x, w, b, acc_fmt = op[2], op[3], op[4], op[5]
            bsz, kk = k.types[x][0]
            nn = k.types[w][0][1]
            fp = f[x] + f[w]  # exact product grid
            res = []
            for row in range(bsz):
                xs = env[x][row * kk:(row + 1) * kk]
                for n in range(nn):
                    acc = requantize_int(env[b][n], f[b], acc_fmt)
                    for kk_ in range(kk):
                        prod = xs[kk_] * env[w][kk_ * nn + n]
                        ff = max(acc_fmt.f, fp)
                        s = (acc << (ff - acc_fmt.f)) + (prod << (ff - fp))
                        acc = requantize_int(s, ff, acc_fmt)
                    res.append(requantize_int(acc, acc_fmt.f, out))
            env[v] = res
        else:  # pragma: no cover
            raise AssertionError(kind)
