// The passes and emitters of the df stage read the module's one df.graph through dialects/df/graph.py's
// find_graph: a module without one is an error naming the pass and the missing conversion.
// RUN: not fxflow-opt --aie-partition %s 2>&1 | filecheck %s --check-prefix=AIE
// RUN: not fxflow-opt --aie-place %s 2>&1 | filecheck %s --check-prefix=PLACE
// RUN: not fxflow-opt --versal-partition %s 2>&1 | filecheck %s --check-prefix=VERSAL

// AIE: error: aie-partition: the module must hold exactly one df.graph, found 0 (run convert-fxp-to-df first)
// PLACE: error: aie-place: the module must hold exactly one df.graph, found 0 (run convert-fxp-to-df first)
// VERSAL: error: versal-partition: the module must hold exactly one df.graph, found 0 (run convert-fxp-to-df first)
module {}
