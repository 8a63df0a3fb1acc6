"""Where every file of a study lives: the one module that spells ``data/``, ``results/`` and ``logs/``.

Templates use Snakemake's wildcard syntax (``{dataset}``, ``{k}``, ``{variant}``, ``{seed}``);
``ganrepro.pipeline`` builds every step's declared inputs and outputs from them, and the steps
find the files inside a directory they were given through the ``*Files`` classes below, so a file
name is spelt once.
"""

from __future__ import annotations

from pathlib import Path

RAW_DIR = "data/raw/{dataset}"
PREPARED = "data/prepared/{dataset}.npz"
CLASSIFIER_DIR = "results/classifiers/{dataset}/k{k}"
RUNS = "results/runs"
RUN_DIR = RUNS + "/{variant}/seed{seed}"
DRAW_DIR = RUN_DIR + "/draw{draw}"  # another latent draw from the run's checkpoint (evaluation-sample seed)
REAL_SCORES = "results/real/{dataset}/scores.json"
GAMING_DIR = "results/gaming/{dataset}"
INCEPTION_DIR = "results/inception/{dataset}"  # the ImageNet Inception stage's cached train statistics
DINOV2_DIR = "results/dinov2/{dataset}"  # the DINOv2 stage's real features and statistics (evaluation.encoders)
TOY = "results/toy/toy_1d.json"
REPORT_DIR = "results/report"
BENCH_DIR = "results/bench"  # the bench step: speed against reference loops (wall times: nondeterministic)
CODE_DIR = "results/code"  # each step's code fingerprint (ganrepro.pipeline.fingerprint): <step>.json, DVC's stages read them
PROVENANCE_DIR = "results/provenance"  # Snakemake runs only: every job's benchmark file, summarised
LOG_DIR = "logs"
BENCHMARK_DIR = "logs/benchmarks"


class Files:
    """The files inside one directory, by role: ``RunFiles(d).checkpoint`` is ``d/checkpoint.pt``."""

    NAMES: dict[str, str] = {}

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)

    def __getattr__(self, role: str) -> Path:
        names = type(self).NAMES
        if role in names:
            return self.dir / names[role]
        raise AttributeError(f"{type(self).__name__} has no file {role!r} (known: {', '.join(names)})")

    @classmethod
    def template(cls, directory_template: str, role: str) -> str:
        """The path template of ``role`` under a directory template (for the pipeline definition)."""
        return f"{directory_template}/{cls.NAMES[role]}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.dir)!r})"


class RunFiles(Files):
    """One training run (variant × seed): what train, sample and score write."""

    NAMES = {
        "checkpoint": "checkpoint.pt", "train_log": "train_log.csv", "summary": "train_summary.json",
        "timing": "timing.json",  # wall-clock figures: the one train output that is not reproducible
        "samples": "samples.npz", "grid": "grid.png", "traversals": "traversals.png",
        "code_effects": "code_effects.json",  # what each continuous code controls, measured (InfoGAN Fig. 2)
        "scores": "scores.json", "probs": "probs.npz",
        "inception": "inception_scores.json",  # IS and FID under ImageNet Inception-v3 (when configured)
        "dinov2": "dinov2_scores.json",  # FD, KID, PR, DC under DINOv2 (when chosen)
        "metrics": "metrics.json", "is_splits": "is_splits.csv",  # flat headline numbers, IS per split count (DVC)
        "truncation": "truncation.json", "truncation_curve": "truncation.png",  # IS/FD over truncation values
        "resume": "resume",  # the train job's scratch space, deliberately not a declared output
    }


class DrawFiles(Files):
    """One extra latent draw of a run (``redraw`` step): its scores only, no pictures or samples kept."""

    NAMES = {"scores": "scores.json"}


class ClassifierFiles(Files):
    """One domain classifier: its weights, test metrics, and its pass over the whole real test set
    (probabilities and features: what every score job compares samples with, computed once)."""

    NAMES = {"model": "model.pt", "metrics": "metrics.json", "reference": "real_test_pass.npz"}


class InceptionFiles(Files):
    """The Inception stage's per-data-set files: FID statistics of the train split, real-data scores."""

    NAMES = {"stats": "train_stats.npz", "real_scores": "real_scores.json"}


class EncoderFiles(Files):
    """A feature encoder's per-data-set files (DINOv2): real features with their statistics, real-data scores."""

    NAMES = {"stats": "train_stats.npz", "real_scores": "real_scores.json"}


class GamingFiles(Files):
    NAMES = {"scores": "scores.json", "grid": "grid.png"}


class ReportFiles(Files):
    """The report step's directory: pages, CSV tables (byte-reproducible but timing_table), figures."""

    NAMES = {"index": "index.html", "markdown": "report.md", "is_table": "is_table.csv",
             "real_table": "real_table.csv", "summary_table": "summary_table.csv",
             "verdict_table": "verdict_table.csv", "variance_table": "variance_table.csv",
             "rank_table": "rank_table.csv", "observations": "observations.csv",
             "timing_table": "timing_table.csv", "inception_table": "inception_table.csv",
             "dinov2_table": "dinov2_table.csv",
             "truncation_table": "truncation_table.csv", "truncation_curves": "truncation_curves.png",
             "split_study": "split_study.png",
             "li_curves": "li_curves.png", "training_curves": "training_curves.png", "images": "img"}


class BenchFiles(Files):
    """The bench step's directory."""

    NAMES = {"bench": "bench.json"}


class ProvenanceFiles(Files):
    """The provenance step's directory (Snakemake only): per-job wall time and peak memory."""

    NAMES = {"index": "index.html", "jobs": "jobs.csv"}


def fill(template: str, **wildcards) -> str:
    return template.format(**wildcards)
