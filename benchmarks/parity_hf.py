"""The Trainer side of the parity benchmark: one run of `transformers.Trainer` on one task and seed.

`python -m benchmarks.parity_hf --task rte --seed 0 --data-dir D --out run.json [--epochs N ...]`

transformers' own classes, untouched: `AutoModelForSequenceClassification` (for MiniLM, a BERT model:
`BertForSequenceClassification`, i.e. the pretrained pooler, dense + tanh over [CLS], then dropout
and a linear layer) or `AutoModelForMultipleChoice` (COPA), the tokenizer's own truncation of a pair
to `max_length` (longest first), `DataCollatorWithPadding` / `DataCollatorForMultipleChoice`, the
models' own cross-entropy loss, the Trainer's AdamW and linear schedule with warm-up. The model is
evaluated on the full dev set after every epoch (as stilts does under `schedule=epochs`) and its last
state once more at the end; no checkpoint is selected, nothing stops early.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import (
    AutoModelForMultipleChoice,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorForMultipleChoice,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from benchmarks.hf import _version_args
from benchmarks.parity_data import TASKS, Example, ParityTask, read_split, score
from stilts.config import minilm_path


def features(tokenizer: Any, examples: list[Example], task: ParityTask, max_length: int) -> Dataset:
    """Tokenized examples: flat for classification, `[choices][tokens]` for multiple choice."""
    rows = []
    for example in examples:
        encoded = [tokenizer(a, b, truncation=True, max_length=max_length) for a, b in example.inputs]
        row = {k: [e[k] for e in encoded] for k in encoded[0]} if task.choice else dict(encoded[0])
        rows.append({**row, "labels": example.label})
    return Dataset.from_list(rows)


class EpochTimer(TrainerCallback):
    """Training time of each epoch (its steps; the evaluation after the epoch is not in it)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.cpu_s = 0.0  # the process' CPU time over the epochs

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started, self.cpu_started = time.perf_counter(), time.process_time()

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.seconds.append(time.perf_counter() - self.started)
        self.cpu_s += time.process_time() - self.cpu_started


def run(ns: argparse.Namespace) -> dict[str, Any]:
    task = TASKS[ns.task]
    torch.set_num_threads(ns.threads)
    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    data = Path(ns.data_dir)
    train_examples, dev_examples = read_split(data, task, "train"), read_split(data, task, "val")
    train = features(tokenizer, train_examples, task, ns.max_length)
    dev = features(tokenizer, dev_examples, task, ns.max_length)
    gold = [e.label for e in dev_examples]
    epoch_scores: list[float] = []

    def compute_metrics(prediction: Any) -> dict[str, float]:
        epoch_scores.append(score(task, np.argmax(prediction.predictions, -1).tolist(), gold))
        return {"score": epoch_scores[-1]}

    kind = AutoModelForMultipleChoice if task.choice else AutoModelForSequenceClassification
    extra = {} if task.choice else {"num_labels": len(task.labels)}
    torch.manual_seed(ns.seed)  # the Trainer seeds again before building its data order
    model = kind.from_pretrained(path, attn_implementation="sdpa", **extra)
    collator = (DataCollatorForMultipleChoice if task.choice else DataCollatorWithPadding)(tokenizer)
    args = TrainingArguments(
        output_dir=str(Path(ns.out).parent / f"{Path(ns.out).stem}_trainer"),
        per_device_train_batch_size=ns.batch_size,
        per_device_eval_batch_size=64,
        num_train_epochs=ns.epochs or task.epochs,
        learning_rate=ns.lr,
        weight_decay=0.01,
        lr_scheduler_type="linear",
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="epoch",
        report_to="none",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        seed=ns.seed,
        **_version_args(TrainingArguments, grouped=False, warmup_ratio=0.1),
    )
    timer = EpochTimer()
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=dev,
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=[timer],
    )
    torch.set_num_threads(ns.threads)  # Trainer's set-up must not change the thread count
    trainer.train()
    preds = np.argmax(trainer.predict(dev).predictions, -1).tolist()
    return {
        "side": "trainer",
        "task": task.name,
        "seed": ns.seed,
        "score": score(task, preds, gold),
        "epoch_scores": epoch_scores[: len(timer.seconds)],
        "train_examples": len(train),
        "epochs": len(timer.seconds),
        "train_s": sum(timer.seconds),
        "train_cpu_s": timer.cpu_s,
        "optim": str(args.optim),
        "model_class": type(model).__name__,
        "predictions": preds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, choices=sorted(TASKS))
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=0, help="0: the task's recipe epochs")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    ns = parser.parse_args()
    result = run(ns)
    Path(ns.out).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
