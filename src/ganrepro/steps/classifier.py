"""The ``classifier`` step: one domain classifier (seed k), the IS's p(y|x) and the FD's features."""

from __future__ import annotations

from pathlib import Path

from ganrepro.core.paths import ClassifierFiles
from ganrepro.steps.stepdefs import Step
from ganrepro.steps.studyfiles import CLASSIFIER, PREPARED

STEP = Step(
    "classifier",
    ("dataset", "k"),
    "ganrepro classifier --params {params_file} --data " + PREPARED + " --seed {k} --out " + CLASSIFIER,
    deps=(PREPARED,),
    outs=tuple(ClassifierFiles.template(CLASSIFIER, role) for role in ("model", "metrics", "reference")),
    params=("classifier.epochs", "classifier.batch_size", "classifier.lr", "classifier.width"),
    help="train a domain classifier (for the IS)",
)


def run(args, sel: dict) -> int:
    from ganrepro.eval.classifier import train_classifier

    m = train_classifier(sel, Path(args.data), args.seed, Path(args.out))
    print(f"classifier k{args.seed}: test accuracy {m['test_accuracy']:.4f}")
    return 0
