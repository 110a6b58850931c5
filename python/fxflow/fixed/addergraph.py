"""Constant matrix-vector products as shared adder graphs (distributed arithmetic, multiplierless).

y[n] = sum_k x[k] * W[k, n] for an integer matrix W: every weight is split into canonical signed digits
(`csd.csd_digits`), so each column is a signed sum of shifted inputs.  Sums of two shifted signals that
recur (in several columns, or twice in one at different shifts) are built once: a greedy common
subexpression elimination takes the most frequent pair `a + s * (b << d)` (ties: the shallower one),
makes it a new signal, rewrites every occurrence, and repeats until no pair occurs twice.  What is left
of each column is summed by an adder tree that always joins the two shallowest terms (depth-balanced).

The graph is pure integer arithmetic on the stored integers, so it serves every backend: the RTL builds
each adder at the width of its exact integer range (`AdderGraph.ranges`), the HLS C++ prints it, and the
estimator costs it.  Inputs are described by their integer ranges and the matrix by integers on a common
grid, so per-element input and weight formats need no change here (a finer weight grid is a shift; a
narrower input is a smaller range; a zero weight or an empty range adds nothing).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .csd import csd_digits


def range_width(lo: int, hi: int) -> int:
    """Bits of the narrowest two's complement (lo < 0) or unsigned integer holding [lo, hi]."""
    if lo < 0:
        return max((-lo - 1).bit_length(), hi.bit_length()) + 1
    return max(hi.bit_length(), 1)


@dataclass(frozen=True)
class Adder:
    """value = a + (b << shift), a - (b << shift) when b_neg, (b << shift) - a when a_neg; a, b signal ids.
    (a_neg only at the root of a column whose sum would otherwise come out negated: a subtraction there is
    cheaper than negating the column afterwards.)"""

    a: int
    b: int
    shift: int
    b_neg: bool
    a_neg: bool = False


@dataclass(frozen=True)
class Term:
    """An output: sign * (signal << shift)."""

    signal: int
    shift: int
    neg: bool


@dataclass
class AdderGraph:
    """Signals 0..K-1 are the inputs, K + i the adder `adders[i]`; outputs[n] is None for an all-zero column."""

    n_inputs: int
    adders: list[Adder] = field(default_factory=list)
    outputs: list[Term | None] = field(default_factory=list)
    shared: int = 0  # adders built by the subexpression elimination (the rest are the column trees)

    def ranges(self, input_ranges) -> list[tuple[int, int]]:
        """The exact integer interval of every signal, given the inputs' [lo, hi]."""
        r = [(int(lo), int(hi)) for lo, hi in input_ranges]
        for ad in self.adders:
            alo, ahi = (-r[ad.a][1], -r[ad.a][0]) if ad.a_neg else r[ad.a]
            blo, bhi = r[ad.b][0] << ad.shift, r[ad.b][1] << ad.shift
            if ad.b_neg:
                blo, bhi = -bhi, -blo
            r.append((alo + blo, ahi + bhi))
        return r

    def depths(self) -> list[int]:
        d = [0] * self.n_inputs
        for ad in self.adders:
            d.append(max(d[ad.a], d[ad.b]) + 1)
        return d

    def depth(self) -> int:
        d = self.depths()
        return max((d[t.signal] for t in self.outputs if t is not None), default=0)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """[B, K] integers -> [B, N] exact column sums (Python ints): the graph's own reference."""
        x = np.asarray(x, dtype=object)
        vals = [x[:, k] for k in range(self.n_inputs)]
        for ad in self.adders:
            a, b = -vals[ad.a] if ad.a_neg else vals[ad.a], vals[ad.b] * (1 << ad.shift)
            vals.append(a - b if ad.b_neg else a + b)
        out = np.zeros((x.shape[0], len(self.outputs)), dtype=object)
        for n, t in enumerate(self.outputs):
            if t is not None:
                v = vals[t.signal] * (1 << t.shift)
                out[:, n] = -v if t.neg else v
        return out

    def cost_bits(self, input_ranges) -> int:
        """Bits of all adders: a + (b << d) adds only above the d low bits of a, which are wires, so each
        adder is its result's width less d (one LUT and one carry bit per bit: the estimator's unit)."""
        r = self.ranges(input_ranges)
        return sum(max(range_width(*r[self.n_inputs + i]) - (0 if ad.a_neg else ad.shift), 1)
                   for i, ad in enumerate(self.adders))


def column_ranges(lo, hi) -> list[tuple[int, int]]:
    """Each input's integer range over all rows, from lo, hi [P, K] (input k's bounds in row p; a padding tap
    or a pruned element is [0, 0]), 0 included: the ranges the adders really get (the RTL builds them, the
    estimate costs them)."""
    lo, hi = np.asarray(lo, dtype=object), np.asarray(hi, dtype=object)
    return [(min(int(lo[:, k].min()), 0), max(int(hi[:, k].max()), 0)) for k in range(lo.shape[1])]


def live_weights(w: np.ndarray, ranges) -> np.ndarray:
    """W with the rows of inputs whose range is [0, 0] (pruned per-element activations, padding) zeroed: their
    terms would fold away anyway, but sharing them would cost the other columns common subexpressions."""
    dead = [k for k, (lo, hi) in enumerate(ranges) if lo == 0 and hi == 0]
    if not dead:
        return w
    w = np.array(w, copy=True)
    w[dead, :] = 0
    return w


_SOLVED: dict = {}  # (shape, entries, cse) -> AdderGraph: the RTL, the HLS printer and the estimate ask alike
_SOLVED_MAX = 64


def solve(w: np.ndarray, cse: bool = True) -> AdderGraph:
    """The adder graph of y = x @ w for an integer matrix w [K, N] (see the module docstring); deterministic,
    and remembered for the last few matrices (the largest jet-tagger layer takes seconds)."""
    w = np.asarray(w, dtype=object)
    key = (w.shape, tuple(int(v) for v in w.ravel()), cse)
    g = _SOLVED.get(key)
    if g is None:
        if len(_SOLVED) >= _SOLVED_MAX:
            _SOLVED.pop(next(iter(_SOLVED)))
        g = _SOLVED[key] = _solve(w, cse)
    return g


def _solve(w: np.ndarray, cse: bool) -> AdderGraph:
    kk, nn = w.shape
    g = AdderGraph(kk)
    # column n: {(signal, shift): neg}
    cols: list[dict] = []
    for n in range(nn):
        c = {}
        for k in range(kk):
            for sh, d in csd_digits(int(w[k, n])):
                c[(k, sh)] = d < 0
        cols.append(c)
    depth = [0] * kk
    if cse:
        _eliminate(g, cols, depth)
    for c in cols:
        g.outputs.append(_column_tree(g, c, depth))
    return g


def _eliminate(g: AdderGraph, cols: list[dict], depth: list[int]) -> None:
    """Greedy two-term common subexpression elimination over the columns' signed-digit terms.

    Each step takes the pair with the highest count (ties: the shallower, then the smaller key (a, b, d, s)).
    Pair keys are packed into one integer in that order: a pair's key is the sum of a part of its lower term
    and a part of its higher term (`lo`, `hi` below) plus the sign bit, and a heap entry is one integer too.
    The counts start exact (numpy over all pairs of every column) and are then upper bounds (a substitution
    only adds the new signal's pairs, it never decrements): a popped pair is recounted in its columns and
    re-queued when it fell, which takes the same pair as exact counts would."""
    kk = g.n_inputs
    n_sig = kk + sum(len(c) for c in cols) + 1  # each shared adder consumes at least one term
    n_sh = max((sh for c in cols for (_, sh) in c), default=0) + 1
    bsig = n_sh * 2
    asig = n_sig * bsig
    n_key = n_sig * asig
    n_dep = n_sig  # bound on a signal's depth

    def lo(sig, sh):
        return sig * asig - sh * 2

    def hi(sig, sh):
        return sig * bsig + sh * 2

    def prio(c, dep, key):  # heap order: count high first, then shallow, then small key
        return (dep - c * n_dep) * n_key + key

    # column n: {order code sh * n_sig + sig: (neg, lo, hi, depth)} in insertion order; by_sig[n]: sig -> shifts
    cc: list[dict] = []
    by_sig: list[dict] = []
    all_keys, all_cols = [], []
    for n, c in enumerate(cols):
        d, bs = {}, {}
        for (sig, sh), neg in c.items():
            d[sh * n_sig + sig] = (int(neg), lo(sig, sh), hi(sig, sh), 0)
            bs.setdefault(sig, {})[sh] = None
        cc.append(d)
        by_sig.append(bs)
        if len(d) > 1:
            arr = np.array(sorted((oc, *v[:3]) for oc, v in d.items()), dtype=np.int64)
            i, j = np.triu_indices(len(arr), 1)
            all_keys.append(arr[i, 2] + arr[j, 3] + (arr[i, 1] ^ arr[j, 1]))
            all_cols.append(np.full(len(i), n, dtype=np.int64))
    if not all_keys:
        return
    keys = np.concatenate(all_keys)
    order = np.lexsort((np.concatenate(all_cols), keys))
    init_keys, init_cols = keys[order], np.concatenate(all_cols)[order]
    uk, cnt = np.unique(init_keys, return_counts=True)
    count = dict(zip(uk.tolist(), cnt.tolist()))  # an upper bound of every pair's count
    many = cnt >= 2
    # the pairs of input signals that can be taken (initial count >= 2): where their columns begin, how many
    count0 = dict(zip(uk[many].tolist(), cnt[many].tolist()))
    start = dict(zip(uk[many].tolist(), np.searchsorted(init_keys, uk[many]).tolist()))
    if (int(cnt.max()) + 1) * n_dep * n_key < 2**62:  # depth 0 everywhere: sorted, so a heap
        heap = np.sort(-cnt[many] * (n_dep * n_key) + uk[many]).tolist()
    else:  # beyond int64: Python ints
        heap = sorted(prio(c, 0, k) for c, k in zip(cnt[many].tolist(), uk[many].tolist()))
    cols_of: dict = {}  # a shared signal -> the columns it was put in
    seen: dict = {}  # a recounted pair -> the columns it was found in
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        key = pop(heap) % n_key
        a, b, d, s = key // asig, key // bsig % n_sig, (key >> 1) % n_sh, key & 1
        where = seen.get(key)
        if where is None and max(a, b) >= kk:
            where = sorted(set(cols_of[max(a, b)]))
        elif where is None:
            i = start[key]
            where = sorted(set(init_cols[i:i + count0[key]].tolist()))
        now, found = 0, []
        for n in where:
            c, shs = cc[n], by_sig[n].get(a)
            if not shs:
                continue
            here = 0
            for sh in shs:
                ob = (sh + d) * n_sig + b
                if ob in c and c[ob][0] == c[sh * n_sig + a][0] ^ s:
                    here += 1
            if here:
                now += here
                found.append(n)
        if now != count[key]:  # fell since queued: re-queue at the current count
            count[key] = now
            if now >= 2:
                seen[key] = found  # a pair never reappears in a column it left: recount only these next time
                push(heap, prio(now, max(depth[a], depth[b]), key))
            continue
        new = kk + len(g.adders)
        g.adders.append(Adder(a, b, d, bool(s)))
        dn = max(depth[a], depth[b]) + 1
        depth.append(dn)
        g.shared += 1
        count[key] = 0
        cols_of[new] = found
        added: list = []
        for n in found:
            c, bs = cc[n], by_sig[n]
            for sh in list(bs[a]):
                oa, ob = sh * n_sig + a, (sh + d) * n_sig + b
                if oa not in c or ob not in c:
                    continue
                pa = c[oa][0]
                if c[ob][0] != pa ^ s:
                    continue
                del c[oa], bs[a][sh]
                del c[ob], bs[b][sh + d]
                on_, nl, nh = sh * n_sig + new, lo(new, sh), hi(new, sh)
                added += [(nl + oh if on_ < oc else ol + nh) + (pa ^ on) for oc, (on, ol, oh, _) in c.items()]
                c[on_] = (pa, nl, nh, dn)
                bs.setdefault(new, {})[sh] = None
        for k, v in Counter(added).items():
            count[k] = v
            if v >= 2:
                push(heap, prio(v, max(dn, depth[k // asig], depth[k // bsig % n_sig]), k))
    for n, c in enumerate(cc):
        cols[n] = {(oc % n_sig, oc // n_sig): bool(v[0]) for oc, v in c.items()}


def _column_tree(g: AdderGraph, c: dict, depth: list[int]) -> Term | None:
    """Sum a column's remaining terms, always joining the two shallowest (then lowest-shift) ones."""
    if not c:
        return None
    heap = [(depth[sig], sh, sig, neg) for (sig, sh), neg in c.items()]
    heapq.heapify(heap)
    mixed: dict = {}  # this tree's a - (b << d) adders (used once): negated as (b << d) - a they turn positive
    while len(heap) > 1:
        d1, s1, a, pa = heapq.heappop(heap)
        d2, s2, b, pb = heapq.heappop(heap)
        if not heap and pa and pb and (a in mixed or b in mixed):  # a root of two negated terms: flip one
            flip = a if a in mixed else b
            ad = g.adders[mixed[flip]]
            g.adders[mixed[flip]] = Adder(ad.a, ad.b, ad.shift, False, a_neg=True)
            pa, pb = (False, pb) if flip == a else (pa, False)
        # (-1)^pa (a << s1) + (-1)^pb (b << s2) = (-1)^pa (a +- (b << (s2 - s1))) << s1 for s1 <= s2
        if s2 < s1:
            (d1, s1, a, pa), (d2, s2, b, pb) = (d2, s2, b, pb), (d1, s1, a, pa)
        if not heap and pa and not pb:  # the root: (b << d) - a rather than -(a - (b << d))
            g.adders.append(Adder(a, b, s2 - s1, False, a_neg=True))
            pa = False
        else:
            g.adders.append(Adder(a, b, s2 - s1, pa != pb))
            if pa != pb:
                mixed[g.n_inputs + len(g.adders) - 1] = len(g.adders) - 1
        new = g.n_inputs + len(g.adders) - 1
        depth.append(max(d1, d2) + 1)
        heapq.heappush(heap, (depth[new], s1, new, pa))
    _, sh, sig, neg = heap[0]
    return Term(sig, sh, neg)


def schedule(graph: AdderGraph, input_ranges, budget_ns: float, t_add: float,
             t_add_bit: float) -> tuple[list[int], int]:
    """Register stages by timing: (stage of every signal, adder levels on the longest path within one stage).

    An adder of result width w takes t_add + t_add_bit * w ns after its later operand; it stays in its operands'
    stage while the path since the stage's registers fits `budget_ns`, else it starts the next stage (its
    operands registered).  Inputs are stage 0 at time 0.  Every output is then taken at the last stage."""
    r = graph.ranges(input_ranges)
    stage = [0] * graph.n_inputs
    at = [0.0] * graph.n_inputs  # ns since the signal's stage began
    lev = [0] * graph.n_inputs  # adder levels since its stage began
    deepest = 0
    for i, ad in enumerate(graph.adders):
        d = t_add + t_add_bit * range_width(*r[graph.n_inputs + i])
        s = max(stage[ad.a], stage[ad.b])
        t = max(at[x] if stage[x] == s else 0.0 for x in (ad.a, ad.b))
        lv = max(lev[x] if stage[x] == s else 0 for x in (ad.a, ad.b))
        if t + d > budget_ns and (t > 0 or lv > 0):
            s, t, lv = s + 1, 0.0, 0
        stage.append(s)
        at.append(t + d)
        lev.append(lv + 1)
        deepest = max(deepest, lv + 1)
    return stage, deepest
