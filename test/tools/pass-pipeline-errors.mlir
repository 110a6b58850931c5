// Bad pipelines and pass options are reported with a caret into the pipeline text, before the input is
// even parsed, and never with a Python traceback.
//
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(canonicalize,func.func(cse),no-such-pass)' 2>&1 | filecheck %s --check-prefix=UNKNOWN
// UNKNOWN: <pass-pipeline>:1:44: error: 'no-such-pass' does not refer to a registered pass or pass pipeline (neither an fxflow pass nor an upstream MLIR pass; see --list-passes)
// UNKNOWN-NEXT: builtin.module(canonicalize,func.func(cse),no-such-pass)
// UNKNOWN-NEXT: {{^                                           \^$}}
// UNKNOWN-NOT: Traceback
//
// An unknown pass inside a nested pipeline:
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(func.func(cse,no-such-pass))' 2>&1 | filecheck %s --check-prefix=NESTED
// NESTED: <pass-pipeline>:1:30: error: 'no-such-pass' does not refer to a registered pass or pass pipeline
//
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(fxp-assign-precision{precison=ap_fixed<8,3>})' 2>&1 | filecheck %s --check-prefix=OPTION
// OPTION: <pass-pipeline>:1:16: error: unknown option 'precison' for pass 'fxp-assign-precision' (known: {{.*}}precision{{.*}})
// OPTION-NOT: Traceback
//
// RUN: not fxflow-opt %s --convert-fxp-to-df='reuse-factor=many' 2>&1 | filecheck %s --check-prefix=VALUE
// VALUE: fxflow-opt: error: option 'reuse_factor' of pass 'convert-fxp-to-df' expects int, got 'many'
//
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(canonicalize{no-such-option=1})' 2>&1 | filecheck %s --check-prefix=UPSTREAM-OPTION
// UPSTREAM-OPTION: <pass-pipeline>:1:16: error: <Pass-Options-Parser>: no such option no-such-option
//
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(func.func(fxp-assign-precision))' 2>&1 | filecheck %s --check-prefix=NESTED-FXFLOW
// NESTED-FXFLOW: <pass-pipeline>:1:26: error: fxflow pass 'fxp-assign-precision' cannot be nested under 'func.func'
//
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(cse,func.func(canonicalize)' 2>&1 | filecheck %s --check-prefix=UNBALANCED
// UNBALANCED: <pass-pipeline>:1:{{[0-9]+}}: error: unbalanced brackets in pass pipeline
//
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(cse,,canonicalize)' 2>&1 | filecheck %s --check-prefix=EMPTY
// EMPTY: <pass-pipeline>:1:20: error: expected a pass name
//
// RUN: not fxflow-opt %s --pass-pipeline='builtin.module(cse) extra' 2>&1 | filecheck %s --check-prefix=TRAILING
// TRAILING: <pass-pipeline>:1:21: error: unexpected text after 'builtin.module(cse)'
//
// RUN: not fxflow-opt %s --pass-pipeline 2>&1 | filecheck %s --check-prefix=MISSING
// MISSING: fxflow-opt: error: option '--pass-pipeline' requires a pipeline argument
//
// A pass that fails with an fxflow error (here: an illegal precision) is reported on the input file:
// RUN: not fxflow-opt %s --fxp-assign-precision='precision=ap_fixed<0,3>' 2>&1 | filecheck %s --check-prefix=PASSFAIL
// PASSFAIL: pass-pipeline-errors.mlir: error: config 'model.precision': precision 'ap_fixed<0,3>': width 0 is outside [1, 1024]
// PASSFAIL-NOT: Traceback
//
// Unknown tool options are usage errors (argparse, exit code 2):
// RUN: not fxflow-opt %s --no-such-flag 2>&1 | filecheck %s --check-prefix=FLAG
// FLAG: fxflow-opt: error: unrecognized arguments: --no-such-flag

func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  return %x : tensor<1x2xf32>
}
