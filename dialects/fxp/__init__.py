"""`fxp`: tensor-level fixed-point arithmetic with exact ap_fixed semantics.

Type: `!fxp.fixed<k, i, f, "Q", "O">` is the element type of fixed-point tensors and means exactly
`ap_fixed<k+i+f, k+i, AP_Q, AP_O>` (`ap_ufixed` when k = 0); see `fxflow.fixed.FixedFormat`.

Every op computes its mathematically exact result and then *assigns* it to its result element type, as a
C++ assignment to an ap_fixed variable would (round with Q, then overflow with O).  Before precisions are
assigned (`fxp-assign-precision`) the same ops may carry float tensors; they then mean exact real
arithmetic, which is what the float reference emulation evaluates.

Ops live in one file per family, and every concern (precision, emulator, estimate, HLS) uses the same family
names (`oplist.FXP_OPS` lists them): `elementwise.py` (constant, cast, add/sub/mul, minmax, relu, scale_shift),
`layers.py` (dense, conv, pool: the multiply-accumulate layers with an explicit `accum`), `shape.py` (reshape,
transpose, concat, pad, resize, gather: data movement only, no arithmetic), `tables.py` (lut activations,
clamp, prelu, select and softmax, whose hardware is a lookup table or a comparison), `transformer.py` (matmul of two
activations, layernorm, add_constant) and `recurrent.py` (rnn).  The `approx_mul` attribute on
dense/conv/matmul names a per-layer approximate multiplier (`fxflow.approx`, docs/approx.md).  Room to grow:
the HCCS integer softmax is another `implementation` of `fxp.softmax`; attention/LayerNorm become layers with
their own accumulators.
"""


from .base import (Fxp, FixedType, check_format_attrs, check_formats, check_i64_array, check_pointwise,  # noqa: F401
                   check_tensors, fixed_type, format_of, i64_array, in_out_shapes, shape_of)
from .elementwise import AddOp, CastOp, ConstantOp, MinMaxOp, MulOp, ReluOp, ScaleShiftOp, SubOp
from .layers import ConvOp, DenseOp, PoolOp, conv_output_shape
from .shape import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp
from .tables import ClampOp, LutOp, PReluOp, SelectOp, SoftmaxOp, ThresholdOp, YieldOp
from .transformer import AddConstantOp, LayerNormOp, MatmulOp
from .recurrent import RnnOp
from .oplist import FXP_OPS, OpRegistry, check_op_classes, op_class, op_name
from .traits import COMPUTE_OPS
