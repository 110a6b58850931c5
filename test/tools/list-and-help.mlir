// RUN: fxflow-opt --list-passes | filecheck %s
// RUN: fxflow-opt --help | filecheck %s --check-prefix=HELP
// RUN: fxflow-translate --list-translations | filecheck %s --check-prefix=TRANSLATIONS
// RUN: fxflow-translate --help | filecheck %s --check-prefix=THELP
// RUN: %irdl | filecheck %s --check-prefix=IRDL

// CHECK: fxflow passes
// CHECK-DAG: {{^  }}fxp-assign-precision {{ *}}{{.+}}
// CHECK-DAG: {{^      }}precision: str = 'ap_fixed<16,6>'
// CHECK: upstream MLIR passes with a flag
// CHECK-DAG: {{^  }}canonicalize
// CHECK-DAG: {{^  }}cse

// HELP: usage: fxflow-opt
// HELP-DAG: --split-input-file
// HELP-DAG: --verify-diagnostics
// HELP-DAG: --pass-pipeline
// HELP-DAG: --mlir-print-ir-after-all
// HELP-DAG: --mlir-timing

// TRANSLATIONS: fxflow translations (--<name>):
// THELP: usage: fxflow-translate
// THELP: --list-translations

// IRDL: irdl.dialect @fxp {
// IRDL: irdl.type @fixed
// IRDL: irdl.operation @dense
// IRDL: irdl.dialect @df {
// IRDL: irdl.operation @kernel
