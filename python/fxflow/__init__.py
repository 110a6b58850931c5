"""fxflow: neural networks to bit-exact fixed-point hardware."""
