"""Forgetting: how far intermediate training moved an encoder away from its pretrained start point.

`measures` holds the measures themselves (masked-LM loss under the pretrained MLM head, relative
weight change, linear CKA), `readout` the pretrained MLM head, `sample` the fixed held-out text, and
`store` computes them once per intermediate cache entry (and once for the pretrained reference).
"""
