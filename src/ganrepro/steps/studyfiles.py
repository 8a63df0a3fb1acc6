"""What the params decide about a study's files: the classifier models, the optional steps'
switches (the encoders Inception and DINOv2, bench, truncation) and everything the report reads
(``report_inputs``).

The steps' declarations (``ganrepro.steps``) read them; the step table (``ganrepro.pipeline``)
re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from pathlib import Path

from ganrepro.core import paths
from ganrepro.core.config import external_variants, is_external, samples_source, trained_variants  # noqa: F401 (trained_variants: the steps narrow to it)
from ganrepro.core.paths import (
    BenchFiles,
    ClassifierFiles,
    DrawFiles,
    EncoderFiles,
    GamingFiles,
    InceptionFiles,
    RunFiles,
)
from ganrepro.steps.stepdefs import RunInput

RUN, PREPARED, CLASSIFIER, DRAW = paths.RUN_DIR, paths.PREPARED, paths.CLASSIFIER_DIR, paths.DRAW_DIR
run_file = lambda role: RunFiles.template(RUN, role)  # noqa: E731
inception_file = lambda role: InceptionFiles.template(paths.INCEPTION_DIR, role)  # noqa: E731
dinov2_file = lambda role: EncoderFiles.template(paths.DINOV2_DIR, role)  # noqa: E731
# params evaluation.encoders when absent: today's behaviour (ganrepro.eval.encoders.ENCODERS names them all;
# this module reads the choice without importing the encoders, so no step's code depends on them).
DEFAULT_ENCODERS = ("classifiers", "inception")
ENCODER_NAMES = ("classifiers", "inception", "dinov2")


def encoders(cfg: dict) -> list[str]:
    """The encoders the study scores with (params ``evaluation.encoders``)."""
    return list(cfg["evaluation"].get("encoders", DEFAULT_ENCODERS))


def external_enabled(cfg: dict) -> bool:
    """The import step runs when the study lists external sample sets (``variants.<name>.samples``)."""
    return bool(external_variants(cfg))


def _source(cfg: dict, wildcards: dict) -> str:
    """An external run's sample set: the .npz or PNG folder the params name for its variant and seed."""
    return samples_source(cfg, wildcards["variant"], int(wildcards["seed"]))


def _origin(cfg: dict, wildcards: dict) -> str:
    """What a run's samples come from: its checkpoint, or an external run's sample set."""
    if is_external(cfg, wildcards["variant"]):
        return _source(cfg, wildcards)
    return paths.fill(run_file("checkpoint"), **{"dataset": cfg["data"]["dataset"], **wildcards})


SOURCE = RunInput("source", _source)  # the import step's input
ORIGIN = RunInput("origin", _origin, run_file("checkpoint"))  # what the score step reads besides the samples


def classifier_models(cfg: dict) -> list[str]:
    """Each domain classifier's model file: what a scoring command is given (``{classifiers}``)."""
    return _classifier_files(cfg, ("model",))


def classifier_inputs(cfg: dict) -> list[str]:
    """What a scoring step reads of each classifier: its model and its pass over the real test set."""
    return _classifier_files(cfg, ("model", "reference"))


def _classifier_files(cfg: dict, roles: tuple[str, ...]) -> list[str]:
    ds = cfg["data"]["dataset"]
    return [getattr(ClassifierFiles(paths.fill(CLASSIFIER, dataset=ds, k=k)), role).as_posix()
            for k in range(cfg["classifier"]["count"]) for role in roles]


def data_source(cfg: dict) -> list[str]:
    """Your own data (data.dataset folder or npz): the source the download step copies. The params
    have ``data.source`` exactly then (config refuses it for the other data sets)."""
    return [cfg["data"]["source"]] if "source" in cfg["data"] else []


def encoder_status(cfg: dict, name: str, what: str) -> tuple[bool, str]:
    """Whether encoder ``name``'s stage runs (chosen in evaluation.encoders, its params section
    present, its weights file there), and when it does not, why (the report says it)."""
    if name not in encoders(cfg):
        return False, (f"'{name}' is not among evaluation.encoders {encoders(cfg)}, so the {what} scores were not "
                       "computed")
    opts = cfg.get(name)
    if not opts:
        return False, (f"no {what} weights configured (params: {name}.weights), so the {what} scores were not computed")
    if not Path(opts["weights"]).is_file():
        return False, (f"{name}.weights names {opts['weights']}, which did not exist when the pipeline was built, so "
                       f"the {what} scores were not computed; place the file there and rerun (for DVC, regenerate "
                       "dvc.yaml first)")
    return True, ""


def dinov2_status(cfg: dict) -> tuple[bool, str]:
    return encoder_status(cfg, "dinov2", "DINOv2")


def dinov2_enabled(cfg: dict) -> bool:
    return dinov2_status(cfg)[0]


def dinov2_weights(cfg: dict) -> list[str]:
    return [cfg["dinov2"]["weights"]]


def inception_status(cfg: dict) -> tuple[bool, str]:
    """Whether the Inception stage runs, and when it does not, why (the report says it)."""
    if "inception" not in encoders(cfg):
        return False, (f"'inception' is not among evaluation.encoders {encoders(cfg)}, so the ImageNet Inception IS "
                       "and FID were not computed; the scores use the other encoders only")
    opts = cfg.get("inception")
    if not opts:
        return False, ("no Inception-v3 weights configured (params: inception.weights), so the ImageNet "
                       "Inception IS and FID were not computed; the scores use the domain classifiers only")
    if not Path(opts["weights"]).is_file():
        return False, (f"inception.weights names {opts['weights']}, which did not exist when the pipeline was "
                       "built, so the ImageNet Inception IS and FID were not computed; place the file there "
                       "and rerun (for DVC, regenerate dvc.yaml first)")
    return True, ""


def inception_enabled(cfg: dict) -> bool:
    return inception_status(cfg)[0]


def bench_enabled(cfg: dict) -> bool:
    """The bench step runs when the params have a ``bench`` section."""
    return bool(cfg.get("bench"))


BENCH = BenchFiles.template(paths.BENCH_DIR, "bench")


def bench_variant_keys(cfg: dict) -> list[str]:
    """The bench step reads the variants it times, and no other (dvc.yaml writes them out)."""
    return [f"variants.{v}" for v in cfg["bench"]["variants"]]


def truncation_variants(cfg: dict) -> list[str]:
    """The study's variants with a truncation curve (``truncation.curves``), in study order."""
    curves = cfg.get("truncation", {}).get("curves", {})
    return [v for v in cfg["study"]["variants"] if v in curves]


def truncation_enabled(cfg: dict) -> bool:
    return bool(truncation_variants(cfg))


# The truncation curve is scored like the headline numbers: by domain classifier k0.
HEADLINE_CLASSIFIER = ClassifierFiles.template(CLASSIFIER.format(dataset="{dataset}", k=0), "model")
HEADLINE_REFERENCE = ClassifierFiles.template(CLASSIFIER.format(dataset="{dataset}", k=0), "reference")


def inception_weights(cfg: dict) -> list[str]:
    return [cfg["inception"]["weights"]]


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report reads, as the pipeline declares it (so the report reads nothing else).

    ``runs``: (variant, seed, files) of every run; ``draws``: (variant, seed, draw, files) of every
    extra latent draw; ``pictured``: the runs whose samples are shown beside their nearest
    training images (the first seed of each variant), which is why ``prepared`` is an input.
    """

    runs: tuple[tuple[str, int, RunFiles], ...]
    draws: tuple[tuple[str, int, int, DrawFiles], ...]
    classifier_metrics: tuple[Path, ...]
    real_scores: Path
    gaming: GamingFiles
    toy: Path
    prepared: Path
    # The Inception stage: its real-data scores (each run's file is RunFiles.inception) when it
    # ran, else None and ``inception_missing`` says why.
    inception_real: Path | None = None
    inception_missing: str = ""
    dinov2_real: Path | None = None  # the DINOv2 stage's real-data scores (each run's: RunFiles.dinov2), when it ran
    dinov2_missing: str = ""
    bench: Path | None = None  # the bench step's bench.json, when the params enable it
    truncation: tuple[tuple[str, int, RunFiles], ...] = ()  # the runs with a truncation curve
    # (variant, seed, sample set) of the runs that are external sample sets (the import step's): no
    # training files, no traversals, no extra draws; their samples, grid and scores as any run's.
    external: tuple[tuple[str, int, str], ...] = ()

    RUN_ROLES = ("summary", "train_log", "timing", "grid", "traversals", "code_effects", "scores")
    EXTERNAL_ROLES = ("grid", "scores")

    def is_external(self, variant: str, seed: int) -> bool:
        return any(v == variant and s == seed for v, s, _ in self.external)

    @property
    def pictured(self) -> tuple[tuple[str, int, RunFiles], ...]:
        first = self.runs[0][1]
        return tuple(r for r in self.runs if r[1] == first)

    def files(self) -> list[str]:
        out = [getattr(files, role).as_posix() for v, s, files in self.runs
               for role in (self.EXTERNAL_ROLES if self.is_external(v, s) else self.RUN_ROLES)]
        out += [files.samples.as_posix() for _, _, files in self.pictured]
        out += [files.scores.as_posix() for *_, files in self.draws]
        out += [p.as_posix() for p in self.classifier_metrics]
        out += [self.real_scores.as_posix(), self.gaming.scores.as_posix(), self.gaming.grid.as_posix(),
                self.toy.as_posix(), self.prepared.as_posix()]
        if self.inception_real is not None:
            out += [files.inception.as_posix() for _, _, files in self.runs] + [self.inception_real.as_posix()]
        if self.dinov2_real is not None:
            out += [files.dinov2.as_posix() for _, _, files in self.runs] + [self.dinov2_real.as_posix()]
        if self.bench is not None:
            out.append(self.bench.as_posix())
        out += [getattr(files, role).as_posix() for _, _, files in self.truncation
                for role in ("truncation", "truncation_curve")]
        return out


def report_inputs(cfg: dict) -> ReportInputs:
    """Needs ``study``, ``data.dataset``, ``classifier.count``, ``evaluation.extra_draws``,
    ``evaluation.encoders``, ``inception`` and ``dinov2`` when present, and the external variants'
    ``variants.<name>`` (the report step declares them)."""
    ds = cfg["data"]["dataset"]
    inception, missing = inception_status(cfg)
    dinov2, dinov2_missing = dinov2_status(cfg)
    runs = list(product(cfg["study"]["variants"], cfg["study"]["seeds"]))
    external = external_variants(cfg)
    return ReportInputs(
        runs=tuple((v, s, RunFiles(paths.fill(RUN, variant=v, seed=s))) for v, s in runs),
        draws=tuple((v, s, d, DrawFiles(paths.fill(DRAW, variant=v, seed=s, draw=d)))
                    for (v, s), d in product(runs, cfg["evaluation"]["extra_draws"]) if v not in external),
        classifier_metrics=tuple(ClassifierFiles(paths.fill(CLASSIFIER, dataset=ds, k=k)).metrics
                                 for k in range(cfg["classifier"]["count"])),
        real_scores=Path(paths.fill(paths.REAL_SCORES, dataset=ds)),
        gaming=GamingFiles(paths.fill(paths.GAMING_DIR, dataset=ds)),
        toy=Path(paths.TOY),
        prepared=Path(paths.fill(PREPARED, dataset=ds)),
        inception_real=Path(paths.fill(inception_file("real_scores"), dataset=ds)) if inception else None,
        inception_missing=missing,
        dinov2_real=Path(paths.fill(dinov2_file("real_scores"), dataset=ds)) if dinov2 else None,
        dinov2_missing=dinov2_missing,
        bench=Path(BENCH) if bench_enabled(cfg) else None,
        truncation=tuple((v, s, RunFiles(paths.fill(RUN, variant=v, seed=s)))
                         for v, s in product(truncation_variants(cfg), cfg["study"]["seeds"])),
        external=tuple((v, s, samples_source(cfg, v, s)) for v, s in runs if v in external),
    )
