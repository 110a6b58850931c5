// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// Every error the df op verifiers emit, plus the structural rules MLIR enforces through the ops' traits.

// ===== df.graph

// expected-error @+1 {{'df.graph' op io_type 'io_axi' is not one of io_parallel, io_stream}}
"df.graph"() ({
  "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
}) {sym_name = "g", io_type = "io_axi"} : () -> ()

// -----

// expected-error @+1 {{'df.graph' op expects a body with exactly one block}}
"df.graph"() ({
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// expected-error @+1 {{'df.graph' op expects a body with exactly one block}}
"df.graph"() ({
  "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
^bb1:
  "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// expected-error @+1 {{'df.graph' op body must end with df.return}}
"df.graph"() ({
  "df.yield"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// expected-error @+1 {{'df.graph' op may contain only df.kernel and df.channel, found 'fxp.constant'}}
"df.graph"() ({
  %c = "fxp.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
  "df.return"(%c) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// expected-error @+1 {{'df.graph' op may contain only df.kernel and df.channel, found 'fxp.relu'}}
"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  %r = "fxp.relu"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%r) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// The body of a graph needs a terminator: the graph verifier (which runs before MLIR's terminator check)
// reports it.
// expected-error @+1 {{'df.graph' op body must end with df.return}}
"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  %c = "df.channel"(%x) {kind = "array", depth = 1 : i64} : (tensor<2xf32>) -> tensor<2xf32>
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// expected-error @+1 {{'df.graph' op attribute "io_type" is expected but not provided}}
"df.graph"() ({
  "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
}) {sym_name = "g"} : () -> ()

// -----

// expected-error @+1 {{expected base attribute 'builtin.string' but got 'builtin.integer'}}
"df.graph"() ({
  "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
}) {sym_name = "g", io_type = 1 : i64} : () -> ()

// ===== df.kernel

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op reuse_factor must be >= 1, got 0}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 0 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op reuse_factor must be >= 1, got -3}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = -3 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op strategy 'fast' is not one of latency, resource}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "fast", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op expects a body with exactly one block}}
  %0 = "df.kernel"(%x) ({
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op block argument types ['tensor<3xf32>'] do not match operand types ['tensor<2xf32>']}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<3xf32>):
    %c = "fxp.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
    "df.yield"(%c) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op block argument types [] do not match operand types ['tensor<2xf32>', 'tensor<2xf32>']}}
  %0 = "df.kernel"(%x, %x) ({
    %c = "fxp.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
    "df.yield"(%c) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 2, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op body must end with df.yield}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.return"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op yielded types ['tensor<2xf32>'] do not match result types ['tensor<2xf16>']}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf16>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf16>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op yielded types [] do not match result types ['tensor<2xf32>']}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.yield"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// df.kernel is isolated from above: weights live inside, data comes in through operands.
"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = "df.kernel"() ({
    // expected-error @+1 {{using value defined outside the region}}
    %r = "fxp.relu"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    "df.yield"(%r) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : () -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{expected base attribute 'builtin.integer' but got 'builtin.string'}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = "1", strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// ===== df.channel

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.channel' op kind 'fifo' is not one of array, stream}}
  %0 = "df.channel"(%x) {kind = "fifo", depth = 1 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.channel' op depth must be >= 1}}
  %0 = "df.channel"(%x) {kind = "stream", depth = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_stream"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.channel' op input type tensor<2xf32> differs from result type tensor<1x2xf32>}}
  %0 = "df.channel"(%x) {kind = "array", depth = 1 : i64} : (tensor<2xf32>) -> tensor<1x2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.channel' op attribute "depth" is expected but not provided}}
  %0 = "df.channel"(%x) {kind = "array"} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// ===== df.yield / df.return (terminators)

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    // expected-error @+1 {{'df.yield' op must be the last operation in the parent block}}
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// A df.return in the middle of a graph is caught by the graph verifier (which runs before the ops inside).
// expected-error @+1 {{'df.graph' op may contain only df.kernel and df.channel, found 'df.return'}}
"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  "df.return"(%x) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  "df.return"(%x) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// Ports are spread over variadic groups (IRDL unifies types within one group); the segment sizes are
// required, and a group must not mix types.
"df.graph"() ({
^bb0(%x: tensor<2xf32>, %y: tensor<2xi8>):
  // expected-error @+1 {{expected 'tensor<2xf32>' but got 'tensor<2xi8>'}}
  "df.return"(%x, %y) {operandSegmentSizes = array<i32: 2, 0, 0, 0>} : (tensor<2xf32>, tensor<2xi8>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>, %y: tensor<2xi8>):
  "df.return"(%x, %y) {operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<2xf32>, tensor<2xi8>) -> ()
}) {sym_name = "ok_mixed_types", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'operandSegmentSizes' attribute is expected but not provided}}
  "df.return"(%x) : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @+1 {{'df.kernel' op yielded types ['tensor<2xf32>'] do not match result types ['tensor<4xf32>']}}
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<2xf32>):
    "df.yield"(%a) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> tensor<4xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<4xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()
