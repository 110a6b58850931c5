"""Public paths kept after the move to `fxflow.lowering.versal`."""
