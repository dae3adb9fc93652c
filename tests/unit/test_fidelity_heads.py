"""Fidelity rules #9 (heads as jiant v1) and the head part of #6 (edge probing's classifier).

The references here are written from jiant v1 / allennlp 0.8.4, not from stilts: allennlp's
`SelfAttentiveSpanExtractor` (inclusive span ends, a window gathered backwards from the end,
masked softmax renormalised with 1e-13), jiant's `Classifier` "mlp" and "log_reg", jiant's WiC
`SingleClassifier` pooling, and hand-worked cases of jiant's span-QA decoding
(jiant/models.py:983-1013).
"""

from __future__ import annotations

import datasets
import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from stilts.models.choice_heads import MarkedSpanHead, SpanClassifierHead
from stilts.models.span_heads import EdgeProbingHead, SelfAttentiveSpanPooling, SpanQAHead
from stilts.tasks.metrics_spans import SpanQAScore
from tests.helpers import compose_cfg


# ----- independent references ---------------------------------------------------------------------
def conv_projection(pool: SelfAttentiveSpanPooling) -> nn.Conv1d:
    """jiant's width-1 Conv1d projection (cnn_context 0) carrying the pooling's projection weights."""
    linear = pool.proj
    conv = nn.Conv1d(linear.in_features, linear.out_features, kernel_size=1, padding=0).double()
    with torch.no_grad():
        conv.weight.copy_(linear.weight[..., None])
        conv.bias.copy_(linear.bias)
    return conv


def allennlp_self_attentive(
    sequence: torch.Tensor, spans: torch.Tensor, attention: nn.Linear, span_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """allennlp 0.8.4 SelfAttentiveSpanExtractor.forward; `spans` [B, T, 2] with INCLUSIVE ends."""
    starts, ends = spans.split(1, dim=-1)  # [B, T, 1]
    widths = ends - starts
    window = int(widths.max()) + 1
    logits = attention(sequence)  # [B, S, 1]
    steps = torch.arange(window).view(1, 1, -1)
    mask = (steps <= widths).double()
    raw = ends - steps  # gathered backwards from the (inclusive) end
    mask = mask * (raw >= 0).double()
    index = raw.clamp(min=0)  # relu
    batch = torch.arange(sequence.shape[0]).view(-1, 1, 1)
    embedded = sequence[batch, index]  # [B, T, W, D]
    scores = logits[batch, index].squeeze(-1)  # [B, T, W]
    weights = torch.softmax(scores * mask, dim=-1) * mask  # util.masked_softmax, not memory efficient
    weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-13)
    pooled = (weights.unsqueeze(-1) * embedded).sum(-2)  # util.weighted_sum
    if span_mask is not None:
        pooled = pooled * span_mask.unsqueeze(-1).double()
    return pooled


def jiant_pool(pool: SelfAttentiveSpanPooling, hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """jiant's projection then allennlp's extractor, for half-open spans (jiant passes end - 1)."""
    projected = conv_projection(pool)(hidden.transpose(1, 2)).transpose(2, 1)
    inclusive = torch.stack([spans[..., 0], spans[..., 1] - 1], dim=-1)
    return allennlp_self_attentive(projected, inclusive, pool.score)


def random_spans(generator: torch.Generator, batch: int, targets: int, length: int) -> torch.Tensor:
    starts = torch.randint(0, length - 1, (batch, targets), generator=generator)
    widths = torch.randint(1, 5, (batch, targets), generator=generator)
    return torch.stack([starts, (starts + widths).clamp(max=length)], dim=-1)


# ----- span pooling -------------------------------------------------------------------------------
def test_span_pooling_equals_allennlp_self_attentive_extractor_on_random_tensors() -> None:
    generator = torch.Generator().manual_seed(0)
    pool = SelfAttentiveSpanPooling(hidden_size=12, proj_dim=7).double()
    hidden = torch.randn(3, 10, 12, generator=generator, dtype=torch.float64)
    spans = random_spans(generator, 3, 6, 10)
    ours = pool(hidden, spans)
    assert ours.shape == (3, 6, 7)
    torch.testing.assert_close(ours, jiant_pool(pool, hidden, spans), atol=1e-6, rtol=0)


# ----- edge probing (rule #6, head part) -----------------------------------------------------------
@pytest.mark.parametrize(("task", "num_spans"), [("ep_pos", 1), ("ep_srl", 2)])
def test_edge_head_from_the_config_is_jiants_edge_classifier(task: str, num_spans: int) -> None:
    cfg = compose_cfg(["model=tiny", f"task@target={task}"])
    head = instantiate(cfg.target.head, hidden_size=16, labels=["a", "b", "c"], dropout=0.1).double()
    assert isinstance(head, EdgeProbingHead)
    # jiant Classifier "mlp" (simple_modules.py:54-65) at edges-tmpl's hid 256 and dropout 0.3.
    assert [type(m) for m in head.mlp] == [nn.Linear, nn.Tanh, nn.LayerNorm, nn.Dropout, nn.Linear]
    assert head.mlp[0].in_features == num_spans * 256 and head.mlp[0].out_features == 256
    assert head.mlp[3].p == 0.3 and head.dropout.p == 0.1  # classifier_dropout; the grid's on the input
    assert [p.proj.out_features for p in head.pool] == [256] * num_spans

    # Eval-mode output equals jiant's: allennlp pooling per span, concatenated, then the MLP.
    head.eval()
    generator = torch.Generator().manual_seed(1)
    hidden = torch.randn(2, 9, 16, generator=generator, dtype=torch.float64)
    batch = {"span1": random_spans(generator, 2, 3, 9), "span2": random_spans(generator, 2, 3, 9)}
    keys = ("span1", "span2")[:num_spans]
    pooled = torch.cat([jiant_pool(p, hidden, batch[k]) for p, k in zip(head.pool, keys, strict=True)], -1)
    linear1, _, norm, _, linear2 = head.mlp
    expected = linear2(norm(torch.tanh(linear1(pooled))))
    torch.testing.assert_close(head(hidden, batch), expected, atol=1e-6, rtol=0)


def test_edge_head_drops_its_input_at_the_grid_rate() -> None:
    head = EdgeProbingHead(hidden_size=64, labels=["a"], dropout=0.2, num_spans=1, proj_dim=4)
    seen: dict[str, torch.Tensor] = {}
    head.pool[0].proj.register_forward_pre_hook(lambda _m, args: seen.setdefault("x", args[0].detach()))
    torch.manual_seed(0)
    hidden = torch.randn(8, 16, 64)
    head.train()
    head(hidden, {"span1": torch.tensor([[[0, 2]]] * 8)})
    ratio = seen["x"] / hidden
    kept = ratio != 0
    assert torch.allclose(ratio[kept], torch.full_like(ratio[kept], 1 / (1 - 0.2)))
    assert 0.15 < 1 - kept.float().mean().item() < 0.25  # about 20% of 8 x 16 x 64 dropped


# ----- WSC: jiant's SpanClassifierModule ----------------------------------------------------------
def wsc_batch() -> dict[str, torch.Tensor]:
    return {
        "span1_start": torch.tensor([1, 2]),
        "span1_end": torch.tensor([4, 3]),  # three tokens; one token
        "span2_start": torch.tensor([5, 0]),
        "span2_end": torch.tensor([7, 4]),
    }


def test_wsc_head_from_the_config_is_jiants_span_classifier() -> None:
    cfg = compose_cfg(["model=tiny", "task@target=wsc"])
    head = instantiate(cfg.target.head, hidden_size=8, labels=["false", "true"], dropout=0.1).double()
    assert isinstance(head, SpanClassifierHead) and head.dropout.p == 0.1
    # log_reg (base_roberta.conf:20) over the two 512-wide pooled spans (classifier_hid_dim).
    assert head.out.in_features == 2 * 512 and [p.proj.out_features for p in head.pool] == [512, 512]
    head.eval()
    hidden = torch.randn(2, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    batch = wsc_batch()
    pooled = [
        jiant_pool(pool, hidden, torch.stack([batch[f"span{k}_start"], batch[f"span{k}_end"]], -1)[:, None])
        for k, pool in ((1, head.pool[0]), (2, head.pool[1]))
    ]
    expected = head.out(torch.cat(pooled, dim=-1)[:, 0])
    torch.testing.assert_close(head(hidden, batch), expected, atol=1e-6, rtol=0)


def test_wsc_pooling_is_learned_attention_not_a_mean() -> None:
    torch.manual_seed(3)
    head = SpanClassifierHead(hidden_size=8, labels=["false", "true"], dropout=0.0, proj_dim=6).eval()
    hidden = torch.randn(2, 8, 8)
    batch = wsc_batch()
    before = head(hidden, batch)
    with torch.no_grad():
        head.pool[0].score.weight.mul_(-3.0)  # only the attention scores of span 1 change
    after = head(hidden, batch)
    assert not torch.allclose(before[0], after[0])  # example 0: span 1 has three tokens
    torch.testing.assert_close(before[1], after[1])  # example 1: span 1 is one token, weight 1


# ----- WiC: jiant's pair classifier with the marked words' mean -----------------------------------
def jiant_wic_features(hidden: torch.Tensor, idx1: list[list[int]], idx2: list[list[int]]) -> torch.Tensor:
    """jiant SingleClassifier (simple_modules.py:128-149): pool_type "first", then per marked word
    the mean of the gathered token states, where index lists are padded with 0 and slot 0 counts."""
    features = [hidden[:, 0]]
    for lists in (idx1, idx2):
        width = max(map(len, lists))
        idx = torch.tensor([row + [0] * (width - len(row)) for row in lists])[..., None]
        idx = idx.expand(-1, -1, hidden.shape[-1])
        mask = (idx != 0).double()
        mask[:, 0] = 1
        gathered = hidden.gather(1, idx) * mask
        features.append(gathered.sum(1) / mask.sum(1))
    return torch.cat(features, dim=-1)


def test_wic_head_is_jiants_first_token_plus_marked_word_means() -> None:
    cfg = compose_cfg(["model=tiny", "task@target=wic"])
    head = instantiate(cfg.target.head, hidden_size=4, labels=["false", "true"], dropout=0.1).double()
    assert isinstance(head, MarkedSpanHead) and head.dropout.p == 0.1
    head.eval()
    hidden = torch.randn(2, 9, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    batch = {
        "span1_start": torch.tensor([1, 2]),
        "span1_end": torch.tensor([3, 3]),
        "span2_start": torch.tensor([6, 5]),
        "span2_end": torch.tensor([7, 9]),
    }
    expected = head.out(jiant_wic_features(hidden, [[1, 2], [2]], [[6], [5, 6, 7, 8]]))
    torch.testing.assert_close(head(hidden, batch), expected, atol=1e-6, rtol=0)


# ----- QAMR / QA-SRL: jiant's span decoding -------------------------------------------------------
# "Marie Curie won the Nobel-Prize in 1903 ." as <s> + 11 sub-tokens + 4 question/separator tokens:
# position 1 Marie | 2 Cur 3 ie | 4 won | 5 the | 6 Nobel 7 - 8 Prize | 9 in | 10 1903 | 11 .
CONTEXT = "Marie Curie won the Nobel-Prize in 1903 ."
OFFSETS = [[-1, -1], [0, 5], [6, 9], [9, 11], [12, 15], [16, 19], [20, 25], [25, 26], [26, 31]]
OFFSETS += [[32, 34], [35, 39], [40, 41]] + [[-1, -1]] * 4


@pytest.mark.parametrize(
    ("start", "end", "answer"),
    [
        (3, 5, "Curie won"),  # start inside "Curie" -> the whole word; end exclusive at "the"
        (6, 9, "Nobel-Prize"),  # three sub-tokens of one word, end at the next word
        (5, 3, "the"),  # end before start: jiant sets end = start + 1 (the "Nobel" sub-token)
        (6, 7, ""),  # start and end inside one word: the word slice is empty
        (9, 14, "in 1903"),  # end in the question: clipped to the last passage sub-token ("."),
        (10, 11, "1903"),  # whose word is the exclusive end, so the final word "." is never included
        (0, 4, ""),  # start on <s>: -1 reads the last word ("."), after the end word
        (12, 13, ""),  # start in the question: clipped to the last sub-token, the end likewise
    ],
)
def test_span_qa_answers_are_whitespace_words_by_jiants_rule(start: int, end: int, answer: str) -> None:
    refs = datasets.Dataset.from_list([{"idx": 0, "context": CONTEXT, "offsets": OFFSETS, "answer": answer}])
    metric = SpanQAScore("em")
    metric.bind_references(refs)
    assert metric.answer_text(0, start, end) == answer


def test_span_qa_head_takes_independent_argmaxes_first_on_ties() -> None:
    head = SpanQAHead(hidden_size=2, labels=[], dropout=0.0)
    start = torch.tensor([[0.0, 1.0, 5.0, 5.0, 0.0], [0.0, 4.0, 4.0, 0.0, 0.0]])
    end = torch.tensor([[0.0, 9.0, 0.0, 0.0, 8.0], [0.0, 0.0, 0.0, 1.0, 0.0]])
    out = head.predict(torch.stack([start, end], -1), {"idx": torch.tensor([3, 4])})
    # Row 0: start 2 (first of the tied 5.0s), end 1 (before the start: no joint search, no limit).
    assert out["start"].tolist() == [2, 1] and out["end"].tolist() == [1, 3] and out["idx"].tolist() == [3, 4]


def test_span_qa_head_masks_only_padding() -> None:
    head = SpanQAHead(hidden_size=3, labels=[], dropout=0.0)
    batch = {"attention_mask": torch.tensor([[1, 1, 1, 1, 0, 0]])}
    logits = head(torch.randn(1, 6, 3), batch)
    assert torch.isfinite(logits[0, :4]).all()  # <s>, passage, separators and question all score
    assert (logits[0, 4:] == torch.finfo(torch.float32).min).all()
