"""Models: the shared encoder, the pluggable task heads and the TransferModule."""
