"""Joint Versal project emission: HLS parts, the mlir-aie part, PLIO stream bridges, README."""
