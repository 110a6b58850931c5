// fxflow-translate: one flag per registered translation (see --list-translations); exactly one is needed.
// RUN: not fxflow-translate %s 2>&1 | filecheck %s --check-prefix=NONE
// RUN: not fxflow-translate %s --no-such-translation 2>&1 | filecheck %s --check-prefix=UNKNOWN
// RUN: printf 'func.func @f(' | not fxflow-translate --list-translations=1 2>&1 | filecheck %s --check-prefix=USAGE
// NONE: fxflow-translate: error: no translation chosen; use one of:
// NONE-NOT: Traceback
// UNKNOWN: fxflow-translate: error: unrecognized arguments: --no-such-translation
// USAGE: fxflow-translate: error: argument --list-translations: ignored explicit argument '1'
func.func @f() {
  return
}
