"""fxflow.approx: every family's NumPy function == its product table == its C++ function (g++, one translation
unit) == an independent reference written from the published definition, exhaustively for 8-bit signed and
unsigned and a mixed 5-bit signed x 6-bit unsigned; metrics; user tables and C functions; bad input."""

from __future__ import annotations

import math
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from fxflow import approx
from fxflow.errors import ConfigError
from fxflow.toolchain import find_cxx

SPECS = ["exact", "trunc(k=5)", "trunc(k=6, compensate=1)", "bam(hbl=2, vbl=5)", "drum(k=3)", "drum(k=4)",
         "mitchell"]
WIDTHS = [(8, True, 8, True), (8, False, 8, False), (5, True, 6, False)]
CASES = [(s, *w) for s in SPECS for w in WIDTHS]


def _operands(wa, sa, wb, sb):
    a = np.arange(-(1 << (wa - 1)) if sa else 0, (1 << (wa - 1)) if sa else (1 << wa), dtype=np.int64)
    b = np.arange(-(1 << (wb - 1)) if sb else 0, (1 << (wb - 1)) if sb else (1 << wb), dtype=np.int64)
    return a, b


# --- references from the published definitions (value arithmetic, not the expression) --------------------
def _ref_array(a, b, wa, sa, wb, sb, keep, compensate=False):
    """Sum of the kept cells' signed values (a_i b_j times +-2^(i+j)), read modulo 2^(wa+wb)."""
    total = np.zeros((a.size, b.size), dtype=np.int64)
    mean, cols = 0.0, []
    for i in range(wa):
        for j in range(wb):
            sign = -1 if (sa and i == wa - 1) != (sb and j == wb - 1) else 1
            if keep(i, j):
                total += sign * (((a[:, None] >> i) & 1) * ((b[None, :] >> j) & 1)) << (i + j)
                cols.append(i + j)
            else:
                mean += sign * 2.0 ** (i + j) / 4
    if compensate and cols:
        g = 1 << min(cols)
        total += int(math.floor(mean / g + 0.5)) * g
    bits = wa + wb
    total %= 1 << bits
    if sa or sb:
        total = np.where(total >= 1 << (bits - 1), total - (1 << bits), total)
    return total


def _sign_magnitude(a, b, approx_pair):
    out = np.zeros((a.size, b.size), dtype=np.int64)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            p = approx_pair(abs(int(x)), abs(int(y)))
            out[i, j] = -p if (x < 0) != (y < 0) else p
    return out


def _drum_operand(x, k):
    t = x.bit_length() - 1
    if t < k:
        return x
    s = t - k + 1
    return ((x >> s) | 1) << s


def _mitchell(x, y):
    if x == 0 or y == 0:
        return 0
    tx, ty = x.bit_length() - 1, y.bit_length() - 1
    m = Fraction(x, 1 << tx) - 1 + Fraction(y, 1 << ty) - 1
    v = (1 + m) * 2 ** (tx + ty) if m < 1 else m * 2 ** (tx + ty + 1)
    return math.floor(v)


def reference(spec, wa, sa, wb, sb):
    a, b = _operands(wa, sa, wb, sb)
    name, p = approx.parse_spec(spec)
    if name == "exact":
        return a[:, None] * b[None, :]
    if name == "trunc":
        return _ref_array(a, b, wa, sa, wb, sb, lambda i, j: i + j >= p["k"], bool(p.get("compensate", 0)))
    if name == "bam":
        return _ref_array(a, b, wa, sa, wb, sb, lambda i, j: j >= p["hbl"] and i + j >= p["vbl"])
    if name == "drum":
        return _sign_magnitude(a, b, lambda x, y: _drum_operand(x, p["k"]) * _drum_operand(y, p["k"]))
    if name == "mitchell":
        return _sign_magnitude(a, b, _mitchell)
    raise AssertionError(name)


@pytest.fixture(scope="module")
def cpp_tables(tmp_path_factory):
    """Every case's C++ function compiled in one translation unit; all products written by one run."""
    mults = [approx.build(s, wa, sa, wb, sb) for s, wa, sa, wb, sb in CASES]
    src = ["#include <cstdio>", approx.C_HELPERS] + [m.c_source() for m in mults]
    src.append("int main() {")
    for m in mults:
        (a0, a1), (b0, b1) = m.a_range, m.b_range
        src.append(f"  for (long long a = {a0}; a <= {a1}; a++) for (long long b = {b0}; b <= {b1}; b++) "
                   f"{{ long long p = {m.c_name}(a, b); fwrite(&p, 8, 1, stdout); }}")
    src.append("  return 0;\n}")
    d = tmp_path_factory.mktemp("approx_cpp")
    (d / "all.cpp").write_text("\n".join(src))
    subprocess.run([find_cxx(), "-std=gnu++14", "-O1", "-o", str(d / "all"), str(d / "all.cpp")], check=True)
    out = np.frombuffer(subprocess.run([str(d / "all")], check=True, capture_output=True).stdout, dtype=np.int64)
    tables, pos = {}, 0
    for case, m in zip(CASES, mults):
        n = m.table().size
        tables[case] = out[pos:pos + n].reshape(m.table().shape)
        pos += n
    assert pos == out.size
    return tables


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}{'s' if c[2] else 'u'}{c[3]}{'s' if c[4] else 'u'}")
def test_table_numpy_cpp_reference_agree(case, cpp_tables):
    spec, wa, sa, wb, sb = case
    m = approx.build(spec, wa, sa, wb, sb)
    ref = reference(spec, wa, sa, wb, sb)
    table = m.table()
    a, b = _operands(wa, sa, wb, sb)
    np.testing.assert_array_equal(table, ref)
    np.testing.assert_array_equal(m(a[:, None], b[None, :]), ref)
    np.testing.assert_array_equal(cpp_tables[case], ref)
    if spec != "exact":
        assert (table != m.exact_table()).any()
    lo, hi = m.product_range()  # DRUM's rounding up may need one bit more than the exact product
    bits = wa + wb + (m.family == "drum")
    assert (-(1 << (bits - 1)) <= lo and hi < 1 << (bits - 1)) if (sa or sb) else (0 <= lo and hi < 1 << bits)


def test_signed_corner_is_the_circuit():
    """-128 x -128: the Baugh-Wooley array gives +16384, DRUM's sign-magnitude path |a|=128 -> 144."""
    assert approx.build("exact", 8, True, 8, True)(-128, -128) == 16384
    assert approx.build("drum(k=4)", 8, True, 8, True)(-128, -128) == 144 * 144
    assert approx.build("trunc(k=4)", 8, True, 8, True)(-128, -128) == 16384  # only low columns dropped


def test_metrics_are_exhaustive_and_consistent():
    m = approx.build("trunc(k=4)", 8, False, 8, False)
    d = m.metrics()
    e = m.table() - m.exact_table()
    assert d["wce"] == int(np.abs(e).max()) and d["mae"] == pytest.approx(np.abs(e).mean())
    assert d["bias"] < 0 and 0 < d["ep"] < 1  # truncation only ever drops positive cells
    assert approx.build("exact", 8, True, 8, True).metrics() == {"mae": 0.0, "wce": 0, "mre": 0.0, "ep": 0.0,
                                                                 "bias": 0.0, "nmed": 0.0}
    exact = approx.build("exact", 8, True, 8, True).gates
    assert approx.build("trunc(k=6)", 8, True, 8, True).gates < exact
    assert approx.build("drum(k=3)", 8, True, 8, True).gates < approx.build("drum(k=6)", 8, True, 8, True).gates


def test_catalogue_names():
    names = approx.multipliers()
    assert "mul8s_drum4" in names and "mul8u_exact" in names
    m = approx.resolve("mul8s_drum4", _fmt("ap_fixed<6,2>"), _fmt("ap_fixed<8,1>"), "fc1")
    assert (m.wa, m.sa, m.wb, m.sb) == (8, True, 8, True)


def _fmt(s):
    from fxflow.fixed import FixedFormat

    return FixedFormat.parse(s)


@pytest.mark.parametrize("spec, message", [
    ("drum(k=10)", "k=10 is out of range"),
    ("drum(k=1)", "out of range"),
    ("drum", "parameter(s) k required"),
    ("trunc(k=4, x=1)", "unknown parameter(s) x"),
    ("wallace", "unknown multiplier 'wallace'"),
    ("drum(k=", "malformed"),
    ("trunc(k=4, compensate=2)", "compensate=2 is out of range"),
])
def test_bad_specs_name_the_layer(spec, message):
    with pytest.raises(ConfigError, match="layer 'fc1'") as e:
        approx.resolve(spec, _fmt("ap_fixed<8,3>"), _fmt("ap_fixed<8,1>"), "fc1")
    assert message in str(e.value)


def test_operands_wider_than_a_named_multiplier():
    with pytest.raises(ConfigError, match=r"layer 'fc1'.*input format ap_fixed<12,4> \(12-bit signed\) does not fit"):
        approx.resolve("mul8s_drum4", _fmt("ap_fixed<12,4>"), _fmt("ap_fixed<8,1>"), "fc1")
    with pytest.raises(ConfigError, match="weight format"):
        approx.resolve("mul8u_trunc4", _fmt("ap_ufixed<8,3>"), _fmt("ap_fixed<8,1>"), "fc1")


# --- user models ------------------------------------------------------------------------------------------
C_MODEL = """#include <stdint.h>
// an 8x8 signed multiplier whose two lowest product bits are a's (C model, EvoApproxLib style signature)
int16_t mymul(int8_t a, int8_t b) { return (int16_t) (((a * b) & ~3) | (a & 3)); }
"""


def _model(a, b):
    return ((a * b) & ~3) | (a & 3)


def _bit_pattern_table(fn, bits=8):
    """A table indexed by operand bit patterns (row a & 0xff), as EvoApproxLib/AdaPT store them."""
    t = np.zeros((1 << bits, 1 << bits), dtype=np.int64)
    for ua in range(1 << bits):
        for ub in range(1 << bits):
            a = ua - (1 << bits) if ua >= 1 << (bits - 1) else ua
            b = ub - (1 << bits) if ub >= 1 << (bits - 1) else ub
            t[ua, ub] = fn(a, b)
    return t


def test_user_table_and_c_function_agree(tmp_path):
    table = _bit_pattern_table(_model)
    np.save(tmp_path / "m.npy", table)
    (tmp_path / "m.c").write_text(C_MODEL)
    spec = f"table(path={tmp_path / 'm.npy'}, signed=1, c={tmp_path / 'm.c'}, function=mymul)"
    m = approx.resolve(spec, _fmt("ap_fixed<8,3>"), _fmt("ap_fixed<8,1>"), "fc1")
    assert m(-128, -128) == 16384 and m(3, 3) == 11 and m(-3, 3) == -11
    assert "mymul(a, b)" in m.c_source() and "int16_t mymul" in m.c_source()
    # the CSV form of the same table (rows of the matrix) loads to the same products
    np.savetxt(tmp_path / "m.csv", table, fmt="%d", delimiter=",")
    m2 = approx.resolve(f"table(path={tmp_path / 'm.csv'}, signed=1)", _fmt("ap_fixed<8,3>"), _fmt("ap_fixed<8,1>"), "fc1")
    np.testing.assert_array_equal(m2.table(), m.table())
    assert "static const long long rom[65536]" in m2.c_source()


def test_user_table_disagreeing_with_its_c_model(tmp_path):
    """AdaPT-style bug: the negative x negative quadrant tabulated as |a|*|b| while the circuit differs."""
    table = _bit_pattern_table(lambda a, b: _model(abs(a), abs(b)) if a < 0 and b < 0 else _model(a, b))
    np.save(tmp_path / "m.npy", table)
    (tmp_path / "m.c").write_text(C_MODEL)
    spec = f"table(path={tmp_path / 'm.npy'}, signed=1, c={tmp_path / 'm.c'}, function=mymul)"
    with pytest.raises(ConfigError, match=r"layer 'fc1'.*disagree in \d+ of 65536 products; first at a=-127, b=-128: table 16259, C 16257"):
        approx.resolve(spec, _fmt("ap_fixed<8,3>"), _fmt("ap_fixed<8,1>"), "fc1")


def test_bad_tables(tmp_path):
    np.save(tmp_path / "small.npy", np.zeros((255, 256), dtype=np.int64))
    np.save(tmp_path / "float.npy", np.zeros((256, 256)))
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    for name, message in (("small.npy", r"shape \(255, 256\)"), ("float.npy", "dtype float64"),
                          ("bad.csv", "non-integer"), ("missing.npy", "cannot read")):
        with pytest.raises(ConfigError, match=message):
            approx.resolve(f"table(path={tmp_path / name}, signed=1)", _fmt("ap_fixed<8,3>"), _fmt("ap_fixed<8,1>"),
                           "fc1")


@pytest.mark.parametrize("spec", ["trunc(k=5)", "drum(k=3)", "mitchell", "bam(hbl=2, vbl=5)"])
def test_blocked_measures_equal_the_full_table(spec, monkeypatch):
    """Ranges, error bounds and metrics reduce the products block by block (bounded memory for wide operands);
    with blocks of ~1000 pairs (partial last block) they equal the same measures on the whole table."""
    from fxflow.approx import multiplier as mm
    from fxflow.approx.metrics import error_metrics

    monkeypatch.setattr(mm, "BLOCK_PAIRS", 1000)
    m = approx.build(spec, 8, True, 7, False)  # widths no other test uses: no table or measure cached yet
    a, b = _operands(8, True, 7, False)
    table = m(a[:, None], b[None, :])
    err = table - m.exact_table()
    e_lo, e_hi = m.error_bounds()
    np.testing.assert_array_equal(e_lo, err.min(axis=0))
    np.testing.assert_array_equal(e_hi, err.max(axis=0))
    assert m.product_range() == (int(table.min()), int(table.max()))
    rows = err[128 - 32:128 + 32]  # a: every stored integer of ap_fixed<6,6>
    assert m.error_range(_fmt("ap_fixed<6,6>"), _fmt("ap_ufixed<7,7>")) == (int(rows.min()), int(rows.max()))
    cols = err[:, 5:12]  # every a (the cached per-column bounds), b: ap_ufixed<7,7,...> restricted below
    assert m.error_range(_fmt("ap_fixed<8,8>"), _fmt("ap_ufixed<3,3>")) == (int(err[:, :8].min()),
                                                                           int(err[:, :8].max()))
    assert min(int((p - e).min()) for p, e in m.blocks(-20, 30, 5, 11)) == int(cols[128 - 20:128 + 31].min())
    assert m.metrics() == pytest.approx(error_metrics(table, m.exact_table()))
    d = m.metrics()
    exact = m.exact_table()
    nz = exact != 0
    assert d["mre"] == pytest.approx((np.abs(err[nz]) / np.abs(exact[nz])).mean())
    assert d["nmed"] == pytest.approx(np.abs(err).mean() / np.abs(exact).max())
    assert d["wce"] == int(np.abs(err).max()) and d["mae"] == pytest.approx(np.abs(err).mean())
    assert d["ep"] == pytest.approx((err != 0).mean()) and d["bias"] == pytest.approx(err.mean())


@pytest.mark.parametrize("spec", SPECS)
def test_chunked_evaluation_equals_the_plain_interpreter(spec, monkeypatch):
    """`expr.evaluate` merges equal nodes, frees intermediates and goes through chunks of pairs; the plain
    interpreter (`evaluate_nodes`, every node kept) must give the same products (16 x 8 bits, random pairs)."""
    from fxflow.approx import expr

    monkeypatch.setattr(expr, "CHUNK", 777)
    m = approx.build(spec, 16, True, 8, True)
    rng = np.random.default_rng(5)
    a = rng.integers(-(1 << 15), 1 << 15, size=(3000, 1))
    b = rng.integers(-128, 128, size=(1, 3))
    a[:4, 0] = [-(1 << 15), (1 << 15) - 1, 0, -1]
    plain = np.broadcast_to(expr.evaluate_nodes(m.node, *np.broadcast_arrays(a, b))[id(m.node)], (3000, 3))
    np.testing.assert_array_equal(m(a, b), plain)


@pytest.mark.parametrize("spec", ["trunc(k=5, compensate=1)", "drum(k=3)", "mitchell"])
def test_node_ranges_equal_the_plain_interpreter(spec, monkeypatch):
    """The RTL printer's wire ranges (`expr.node_ranges`: chunked, intermediates freed) are each node's min and
    max of the plain interpreter, for every node of the DAG (duplicates included)."""
    from fxflow.approx import expr

    monkeypatch.setattr(expr, "CHUNK", 1000)
    m = approx.build(spec, 8, True, 5, False)
    a, b = np.meshgrid(np.arange(-128, 128), np.arange(3, 20), indexing="ij")
    ranges = expr.node_ranges(m.node, a.ravel(), b.ravel())
    plain = expr.evaluate_nodes(m.node, a.ravel(), b.ravel())
    nodes = expr.topo(m.node)
    assert set(ranges) == {id(n) for n in nodes}
    for n in nodes:
        v = np.broadcast_to(plain[id(n)], a.size)
        assert ranges[id(n)] == (int(v.min()), int(v.max())), n.op
