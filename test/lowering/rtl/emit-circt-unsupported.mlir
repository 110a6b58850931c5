// Designs the RTL backend cannot build yet are clear errors.
// REQUIRES: circt
// RUN: sed 's/io_parallel/io_stream/' %S/Inputs/dense_relu.mlir | not fxflow-translate --emit-circt 2>&1 | filecheck %s --check-prefix=STREAM
// STREAM: error: the RTL backend builds io_parallel designs (got io_type 'io_stream')

