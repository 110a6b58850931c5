"""Cycle and memory model of AIE-ML dense kernels (used by the partitioner, the placer and the report).

Per kernel call on a batch of M rows with a k x n weight slice (AIE4ML `estimate.py`, aie-ml.md §7):
    cycles = max(loads / 32 B, MACs / (MAC/cycle of the mode), accumulator cascade transfer)
             + 30 (call overhead: locks, loop set-up) + 8 per cascade port (the last 2x2 block's
             accumulators cannot overlap compute)
A layer's interval is its slowest kernel or FIFO leg (32-bit streams, 4 B/cycle); its latency adds 30
cycles per cascade hop to one kernel call.  The single-kernel baseline is one kernel running a full
one-bank weight slice in the same mode; efficiency compares MAC/cycle against tiles x that baseline.
"""

from __future__ import annotations

import math

from fxflow.lowering.aie.arith import MODES, STORAGE, Mode
from fxflow.lowering.aie.device import Device

CALL_OVERHEAD = 30
CASCADE_HOP = 30  # latency per extra kernel on a cascade chain
CASCADE_PORT = 8  # non-overlapped cycles per cascade put or get
LOAD_BYTES_PER_CYCLE = 32
CASCADE_BITS_PER_CYCLE = 512
FIFO_DEPTH = 2


def nbytes(store: str) -> int:
    return STORAGE[store][1] // 8


VECTOR_BYTES = 16  # the narrowest AIE-ML vector (128 bits): the kernels load and store whole vectors


def k_block(mode: Mode, x_store: str) -> int:
    """The dense kernel's K step: two microtiles (2x2 blocking) and at least one 128-bit vector of each input row.
    K-slices are multiples of it (the kernel template asserts it)."""
    return math.lcm(2 * mode.microtile[1], VECTOR_BYTES // nbytes(x_store))


def n_block(mode: Mode, y_store: str) -> int:
    """The dense kernel's N step: two microtiles and at least one 128-bit vector of each weight and output row.
    N-slices are multiples of it."""
    return math.lcm(2 * mode.microtile[2], VECTOR_BYTES // (mode.w_bits // 8), VECTOR_BYTES // nbytes(y_store))


def operand_bytes(mode: Mode) -> tuple[int, int]:
    """Bytes per x and w element as the kernel reads them (16x16 widens 8-bit operands)."""
    return mode.x_bits // 8, mode.w_bits // 8


def kernel_cycles(mode: Mode, m: int, k: int, n: int, cascade_in: bool, cascade_out: bool) -> int:
    xb, wb = operand_bytes(mode)
    loads = math.ceil((m * k * xb + k * n * wb) / LOAD_BYTES_PER_CYCLE)
    compute = math.ceil(m * k * n / mode.macs)
    cascade = math.ceil(m * n * mode.acc_bits / CASCADE_BITS_PER_CYCLE) if (cascade_in or cascade_out) else 0
    return max(loads, compute, cascade) + CALL_OVERHEAD + CASCADE_PORT * (int(cascade_in) + int(cascade_out))


def fifo_cycles(elements: int, store: str) -> int:
    return math.ceil(elements * nbytes(store) / 4)


def tile_bytes(mode: Mode, m: int, k: int, n: int, x_store: str, y_store: str, has_bias: bool, has_out: bool,
               device: Device) -> int:
    """Data memory of one kernel tile: input FIFO buffers, weights, bias, output FIFO buffers, stack."""
    acc_bytes = mode.acc_bits // 8
    total = FIFO_DEPTH * m * k * nbytes(x_store) + k * n * (mode.w_bits // 8) + device.stack_bytes
    if has_bias:
        total += n * acc_bytes
    if has_out:
        total += FIFO_DEPTH * m * n * nbytes(y_store)
    return total


def row_tile_bytes(m: int, width: int, x_store: str, y_store: str, table_bytes: int, device: Device) -> int:
    """Data memory of a row-kernel tile: its input and output FIFO buffers of m x width, resident tables, stack."""
    return FIFO_DEPTH * m * width * (nbytes(x_store) + nbytes(y_store)) + table_bytes + device.stack_bytes


def padded_batch(batch: int, mode: Mode) -> int:
    step = 2 * mode.microtile[0]
    return max(step, -(-batch // step) * step)


def baseline(mode: Mode, device: Device, m: int) -> float:
    """MAC/cycle of one kernel with the largest square power-of-two slice whose weights fit one bank."""
    side = 1 << int(math.log2(math.isqrt(device.bank_bytes // (mode.w_bits // 8))))
    return m * side * side / kernel_cycles(mode, m, side, side, False, False)


def mode_of(name: str) -> Mode:
    return MODES[name]


# kernel role -> (has bias, writes the output FIFO, cascade in, cascade out)
ROLES = {"single": (True, True, False, False), "first": (True, False, False, True),
         "middle": (False, False, True, True), "last": (False, True, True, False),
         "hccs": (False, True, False, False),  # the HCCS softmax kernel (no weights)
         "layernorm": (False, True, False, False), "softmax": (False, True, False, False),  # row kernels
         "lut": (False, True, False, False),  # a table activation, as a row kernel
         "conv": (True, True, False, False),  # feature-map kernels (lowering/aie/fmap.py): one output slice each
         "dwconv": (True, True, False, False),  # a depthwise conv (one input channel per output channel)
         "pool": (False, True, False, False), "add": (False, True, False, False),
         "avgpool": (False, True, False, False),  # an average pool (window sum, division by the window size)
         # attention kernels (lowering/aie/attention.py): dense over the tokens, matmul of two activations, scale,
         # mean over a last dim
         "mmdense": (True, True, False, False), "matmul": (False, True, False, False),
         "scale": (False, True, False, False), "mean": (False, True, False, False)}
SCALAR_DIVIDE_BY_CONSTANT = 4  # a 32-bit scalar division by a constant: multiply-high, shift, sign fix [derived]
ROW_ROLES = ("hccs", "layernorm", "softmax", "lut")  # one tile, whole rows in and out (program.RowTile)
WEIGHTLESS = {*ROW_ROLES, "pool", "avgpool", "add", "matmul", "scale", "mean"}  # roles whose cores hold no weight buffer

# HCCS softmax kernel, per row of n int8 inputs laid out as `width` = slices x slice_len lanes (aie4ml's measured
# HCCS kernels, fixed-point.md §9: about 22 cycles/row plus 235 for a scalar division), counted as the emitted
# kernel (lowering/aie/kernels/) loops, one cycle per HCCS_LANES-lane vector step:
#   max pass width/V + score and sum pass ceil(n/V) + one reciprocal + scale pass 2 width/V (scores recomputed)
HCCS_ROW = 22
HCCS_RECIPROCAL = 213  # the scalar integer division (both variants divide once; "clb" adds 2 for the normalization)
HCCS_CLB = 2
HCCS_LANES = 16  # the kernel's vector width: slices must be whole vectors


def hccs_cycles(m: int, n: int, width: int, variant: str) -> int:
    """Cycles of one HCCS kernel call on m rows of n features stored in `width` (a multiple of HCCS_LANES) lanes."""
    vectors = width // HCCS_LANES
    per_row = HCCS_ROW + HCCS_RECIPROCAL + (HCCS_CLB if variant == "clb" else 0) + vectors \
        + math.ceil(n / HCCS_LANES) + 2 * vectors
    return CALL_OVERHEAD + m * per_row


# LayerNorm, table softmax and table activation kernels (lowering/aie/kernels/rows_vec.py): their scalar steps
# (an integer requantization: shift, rounding test, clamp; or a table lookup) take ROW_STEP cycles per element,
# their vector passes (kernels/rows_vec.vector_passes) VECTOR_STEP cycles per vector of V lanes (load, select, ups /
# max, add or mac) and a final reduction.
ROW_STEP = 4
VECTOR_STEP = 2
REDUCE = 8  # aie::reduce_add / reduce_max of one vector
ROW_OVERHEAD = 20  # per row: loop set-up, the scalar mean / sum requantizations


def _pass(vector: bool, n: int, lanes: int = 16) -> int:
    """One pass over n features: scalar steps, or vector steps of `lanes` and a reduction."""
    return VECTOR_STEP * math.ceil(n / lanes) + REDUCE if vector else ROW_STEP * n


def layernorm_cycles(m: int, n: int, inv_bits: int, vec: dict | None = None) -> int:
    """One LayerNorm call on m rows of n features: sum, centre + square, normalise + affine passes, the one scalar
    division 2^P / (var + eps) and the bisection of its square root (one step per bit, at most 31); the divisions
    by the constant n compile to multiplications.  `vec`: the vector passes (VEC_SUM, VEC_SQ, VEC_MOM)."""
    vec = vec or {}
    v = vec.get("V", 16)
    moments = vec.get("VEC_SUM", False) or vec.get("VEC_MOM", False)  # one vector pass: sum (and squares) of x
    per_row = (_pass(True, n, v) if moments else 0) + (ROW_STEP * n if not vec.get("VEC_SUM", False) else 0) \
        + (0 if vec.get("VEC_MOM", False) else _pass(vec.get("VEC_SQ", False), n, v)) + ROW_STEP * n
    return CALL_OVERHEAD + m * (ROW_OVERHEAD + HCCS_RECIPROCAL + per_row + ROW_STEP * min(inv_bits, 31))


def table_softmax_cycles(m: int, n: int, vec: dict | None = None) -> int:
    """One table softmax call on m rows of n features: max, exp lookup, sum, inverse lookup, scale; `vec`: the
    vector passes (VEC_MAX, VEC_SUM)."""
    vec = vec or {}
    v = vec.get("V", 16)
    per_row = _pass(vec.get("VEC_MAX", False), n, v) + _pass(vec.get("VEC_SUM", False), n, v) + 2 * ROW_STEP * n
    return CALL_OVERHEAD + m * (ROW_OVERHEAD + per_row + ROW_STEP)


def lut_cycles(m: int, n: int) -> int:
    """One table activation call on m rows of n features: one index computation and lookup per element."""
    return CALL_OVERHEAD + m * (ROW_OVERHEAD + ROW_STEP * n)


def row_cycles(role: str, m: int, spec, n: int, width: int, slice_len: int | None = None) -> int:
    """Cycles of one call of a row kernel (cost.ROW_ROLES) on m rows of n features stored in `width` lanes
    (slices of `slice_len`, default one slice)."""
    from fxflow.lowering.aie.kernels.rows_vec import vector_passes

    if role == "hccs":
        return hccs_cycles(m, n, width, spec.reciprocal)
    vec = vector_passes(role, spec, n, width if slice_len is None else slice_len)
    if role == "layernorm":
        return layernorm_cycles(m, n, spec.formats.inv_std.width, vec)
    if role == "lut":
        return lut_cycles(m, n)
    return table_softmax_cycles(m, n, vec)


def roles(cas_length: int) -> list[str]:
    """The roles along one cascade chain, west to east."""
    if cas_length == 1:
        return ["single"]
    return ["first"] + ["middle"] * (cas_length - 2) + ["last"]
