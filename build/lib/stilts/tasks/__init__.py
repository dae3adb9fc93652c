"""Tasks: specs, raw-format readers, featurizers, the datamodule and the paper's metrics."""
