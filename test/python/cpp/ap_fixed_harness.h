// Differential-test harness for fxflow.fixed.quantize against the real Xilinx ap_types headers.
//
// The test generates one or more `cases_K.cpp` files, each defining
//   bool fxflow_dispatch_K(int id, char op, const char* tok);
// which calls run_q<T, W> (assignment from a double) or run_r<T, W, S, WS> (assignment from a wider
// ap_fixed source S whose raw bits are given) for its target formats T and returns false for an
// unknown id, plus a `dispatch.cpp` defining fxflow_dispatch() that chains them.
//
// stdin, one request per line:   <id> Q <hex-float>      e.g.  "12 Q -0x1.8p+1"   (parsed by strtod)
//                                <id> R <WS binary digits, MSB first>
// stdout, one line per request:  the W stored bits of the result, MSB first (exact for any W).
#ifndef FXFLOW_AP_FIXED_HARNESS_H
#define FXFLOW_AP_FIXED_HARNESS_H

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ap_fixed.h"

bool fxflow_dispatch(int id, char op, const char* tok);

template <class T, int W>
static void emit(const T& y) {
  char buf[W + 2];
  for (int i = 0; i < W; ++i) buf[i] = y[W - 1 - i] ? '1' : '0';
  buf[W] = '\n';
  buf[W + 1] = 0;
  fputs(buf, stdout);
}

template <class T, int W>
static void run_q(const char* tok) {
  char* end = nullptr;
  double d = strtod(tok, &end);
  if (end == tok || *end != 0) {
    fprintf(stderr, "bad double: %s\n", tok);
    exit(2);
  }
  T y = d;  // exactly `ap_fixed<...> y = (double)x;`
  emit<T, W>(y);
}

template <class T, int W, class S, int WS>
static void run_r(const char* tok) {
  if ((int)strlen(tok) != WS) {
    fprintf(stderr, "expected %d source bits, got %s\n", WS, tok);
    exit(2);
  }
  S src;
  for (int i = 0; i < WS; ++i) src[WS - 1 - i] = (tok[i] == '1');
  T y = src;  // ap_fixed assignment between formats: round, then overflow
  emit<T, W>(y);
}

#endif
