// Designs the RTL backend cannot build yet are clear errors.
// REQUIRES: circt
// RUN: sed 's/io_parallel/io_stream/' %S/Inputs/dense_relu.mlir | not fxflow-translate --emit-circt 2>&1 | filecheck %s --check-prefix=STREAM
// STREAM: error: the RTL backend builds io_parallel designs (got io_type 'io_stream')

// A 70-bit result port (Verilator keeps ports up to 64 bits in plain integers):
// RUN: sed 's/1 : i32, 5 : i32, 10 : i32, "RND", "SAT"/1 : i32, 29 : i32, 40 : i32, "RND", "SAT"/g' %S/Inputs/dense_relu.mlir | not fxflow-translate --emit-circt 2>&1 | filecheck %s --check-prefix=WIDE
// WIDE: error: the RTL backend supports ports up to 64 bits; the outputs of layer 'fc1' are ap_fixed<70,30,AP_RND,AP_SAT> (70 bits)
