"""The report step: read the study, test its claims, write tables, figures and both pages."""


from __future__ import annotations

import shutil
from pathlib import Path

from ganrepro.core import atomic
from ganrepro.core.images import pairs_grid_png
from ganrepro.core.paths import ReportFiles
from ganrepro.eval import reference_sets
from ganrepro.report import claims, figures, render, tables, variance
from ganrepro.report import dinov2 as dinov2_section
from ganrepro.report import inception as inception_section
from ganrepro.report import truncation as truncation_section
from ganrepro.report.metrics import METRICS
from ganrepro.report.provenance import report_provenance
from ganrepro.report.study import VARIANCE_METRICS, load_study, read_json
from ganrepro.steps.studyfiles import ReportInputs


def _pictures(study, inputs: ReportInputs, out: ReportFiles, rows: int) -> tuple[list[dict], list[dict]]:
    """Sample grids beside their nearest training images (first seed), an encoder's reconstructions
    under their real test images (IntroVAE), and the traversals of the variants that train their codes (λ > 0)."""
    import numpy as np

    out.images.mkdir(parents=True, exist_ok=True)
    prepared = np.load(inputs.prepared)
    train = prepared["x_train"]
    samples, traversals = [], []
    for variant, seed, files in inputs.pictured:
        grid, nearest = f"img/{variant}_seed{seed}_grid.png", f"img/{variant}_seed{seed}_nearest.png"
        shutil.copyfile(files.grid, out.dir / grid)
        arrays = np.load(files.samples)
        images = arrays["images"]
        entry = {"variant": variant, "seed": seed, "grid": grid, "nearest": None, "recon": None}
        if len(images):
            atomic.write_bytes(out.dir / nearest, figures.nearest_grid_png(images, train, rows))
            entry["nearest"] = nearest
        if "images_recon" in arrays.files and len(arrays["images_recon"]):
            entry["recon"] = f"img/{variant}_seed{seed}_recon.png"  # the sample step's: x_test's reference set
            originals = reference_sets.subset(prepared["x_test"], len(arrays["images_recon"]))
            atomic.write_bytes(out.dir / entry["recon"], pairs_grid_png(originals, arrays["images_recon"], rows,
                                                                    max(1, rows // 2)))
        samples.append(entry)
        config = study.summaries[(variant, seed)].get("config", {})
        if config.get("lambda_cat", 0) > 0 or config.get("lambda_cont", 0) > 0:
            trav = f"img/{variant}_seed{seed}_traversals.png"
            shutil.copyfile(files.traversals, out.dir / trav)
            traversals.append({"variant": variant, "seed": seed, "file": trav})
    shutil.copyfile(inputs.gaming.grid, out.images / "gamed.png")
    return samples, traversals


def _external_section(inputs: ReportInputs) -> tuple:
    """Which variants are external sample sets, and from which file (the score step's record of it)."""
    import pandas as pd

    rows = []
    for variant, seed, _ in inputs.external:
        files = next(f for v, s, f in inputs.runs if (v, s) == (variant, seed))
        record = read_json(files.scores).get("external", {})
        rows.append({"variant": variant, "seed": seed, "file": record.get("file", ""),
                     "sha256": record.get("sha256", "")[:16], "format": record.get("format", ""),
                     "images given": record.get("n_given", ""), "images scored": read_json(files.scores).get("n_samples")})
    return ("External sample sets", "Variants given as samples of a generator trained elsewhere "
            "(variants.<name>.samples): not trained here, scored by the same steps as the study's runs (first "
            "evaluation.n_samples images; no latent codes, training curves or extra draws).", render.Table(pd.DataFrame(rows)))
def _fd_bias_section(inputs: ReportInputs) -> dict | None:
    """FD at several N on one run (``tables.fd_bias_run``): how much of an FD difference is N."""
    found = tables.fd_bias_run(inputs)
    if found is None:
        return None
    variant, seed, frame = found
    n = frame["N"].iloc[-3]
    note = (f"{variant}, seed {seed}: FD of random subsets of its {n} samples (drawn without replacement) against all "
            f"of as many real test images' features, per classifier, and FD∞ from the least-squares fit FD_N = FD∞ + "
            f"c/N (Chong & Forsyth 2020). FD is biased upwards by about c/N: two FDs are comparable only at the "
            f"same N, and a difference between variants smaller than the change of FD across these N is of the order "
            f"of the bias.")
    return {"note": note, "table": tables.display_fd_bias(frame)}


def _table_section(title: str, note: str, frame) -> tuple:
    return title, note, render.Table(frame)


def build_report(sel: dict, inputs: ReportInputs, out_dir: Path, params_file: str = "params.yaml") -> Path:
    """Write the report into ``out_dir``; ``sel`` holds the report step's declared params keys."""
    import pandas as pd

    out = ReportFiles(out_dir)
    study = load_study(sel, inputs)
    head = study.head
    summary, real = tables.summary_frame(study), tables.real_frame(study)
    verdicts, verdict_parts = claims.evaluate(sel["claims"], study)
    per_variant = variance.decompose(study.observations, VARIANCE_METRICS)
    pooled = variance.pooled(per_variant) if not per_variant.empty else pd.DataFrame()
    ranks = variance.rank_stability(study.observations, study.splits, head)

    for path, frame in ((out.is_table, study.runs), (out.real_table, real), (out.summary_table, summary),
                        (out.verdict_table, verdict_parts), (out.variance_table, per_variant),
                        (out.rank_table, ranks), (out.observations, study.observations),
                        (out.timing_table, study.timing)):
        atomic.write_text(path, frame.to_csv(index=False))
    if inputs.inception_real is not None:
        atomic.write_text(out.inception_table, inception_section.rows(inputs, study.splits).to_csv(index=False))
    if inputs.dinov2_real is not None:
        atomic.write_text(out.dinov2_table, dinov2_section.rows(inputs).to_csv(index=False))

    logs = {(v, s): pd.read_csv(f.train_log) for v, s, f in inputs.runs if not inputs.is_external(v, s)}
    h_cat = next((s.get("code_entropy_cat") for s in study.summaries.values() if s), None)
    trained = [v for v in study.variants if v not in {e for e, _, _ in inputs.external}]
    atomic.write_bytes(out.split_study, figures.split_study_png(study.runs, real, study.splits))
    atomic.write_bytes(out.li_curves, figures.li_curves_png(logs, h_cat))
    atomic.write_bytes(out.training_curves, figures.training_curves_png(logs, trained, study.seeds))
    samples, traversals = _pictures(study, inputs, out, sel["evaluation"]["grid_rows"])

    rules_used = dict.fromkeys(c["rule"] for c in sel["claims"])
    extra = sel["evaluation"]["extra_draws"]
    design = (f"{len(study.seeds)} training seeds × {1 + len(extra)} latent draws × "
              f"{sel['classifier']['count']} classifier seeds per variant")
    context = {
        "dataset": study.dataset, "variants": study.variants, "seeds": study.seeds, "head": head,
        "verdicts": tables.display_verdicts(verdicts),
        "rules": [(name, claims.rule_text(name)) for name in rules_used],
        "counts": verdicts["verdict"].value_counts().to_dict() if len(verdicts) else {},
        "summary": tables.display_summary(summary, real, study, tables.display_timing(study.timing)),
        "metric_docs": [(METRICS[m].label, METRICS[m].doc) for m in ("IS", "MI", "FD", "NN_ratio")]
        + [("code accuracy", "1 − code error: " + METRICS["code_error"].doc)],
        "distribution": tables.display_distribution(summary),
        "distribution_note": (f"Classifier k0's features, the same as FD's ({tables.n_label(summary)}); mean ± sd "
                              "over completed seeds; KID's sd within a run (over its subsets) is in the per-run table. "
                              "▲ marks the best variant per column (lower FD, FD∞ and KID; higher precision, recall, "
                              "density and coverage)."),
        "distribution_docs": [(METRICS[m].label, METRICS[m].doc)
                              for m in ("KID", "precision", "recall", "density", "coverage", "FD_inf")],
        "fd_bias": _fd_bias_section(inputs),
        "code_effects": tables.code_effects_table(inputs, {t["variant"] for t in traversals}),
        "variance": tables.display_variance(pooled, variance.SOURCES), "design": design,
        "ranks": tables.display_ranks(ranks, head),
        "figures": [(out.split_study.name, "IS against the number of splits: mean over seeds per variant "
                                           "(band: ± sd over seeds), real data in black."),
                    (out.li_curves.name, "L_I over training (categorical part), mean over seeds per variant; "
                                         "dashed: H(c), the bound's maximum."),
                    (out.training_curves.name, "Every training-log column per variant (rows), seeds overlaid.")],
        "samples": samples, "traversals": traversals, "gamed": "img/gamed.png",
        "gaming_n": study.gaming["n"], "max_is": study.gaming["max_is"],
        "details": [
            ("Per run: IS at every split count", "IS mean ± sd over the splits (classifier k0, the sample "
             "step's draw); MI with its bootstrap interval; gaps as defined under the summary.",
             tables.display_per_run(study.runs, study.splits)),
            *([("Per run: FD, KID, precision, recall, density, coverage", "Classifier k0's features, the sample "
                "step's draw, N samples against N_real real test images; KID's sd is over its subsets.",
                per_run_dist)] if (per_run_dist := tables.display_per_run_distribution(study.runs)) else []),
            ("Real-data reference rows", "Same N as the generated sets; uniform noise as a floor.",
             tables.display_real(real, study.splits)),
            ("Domain classifiers", "Trained on the data set's train split; they differ only in seed.",
             tables.display_classifiers(study.classifiers)),
            ("IS can be gamed", f"{study.gaming['n']} inputs optimised against k0 by gradient ascent, scored by "
             f"every classifier; maximum IS = {study.gaming['max_is']:.0f}.",
             tables.display_gaming(study.gaming, head)),
            ("The 1-D toy (Barratt & Sharma)", "Mixture of N(-1, 2) and N(1, 2), Bayes-optimal classifier.",
             tables.display_toy(study.toy)),
            _table_section(*inception_section.section(inputs, study.splits)),
        ],
        "provenance": report_provenance(sel, study.summaries, study.timing, params_file),
        "provenance_page": "../provenance/index.html",
        "truncation": truncation_section.section(study.summaries, inputs, out, head),
    }
    if inputs.external:
        context["details"].insert(0, _external_section(inputs))
        context["design"] += (f"; external sample sets (not trained here, scored as given): "
                              f"{', '.join(dict.fromkeys(v for v, _, _ in inputs.external))}")
    if "dinov2" in sel["evaluation"].get("encoders", ()):
        context["details"].append(_table_section(*dinov2_section.section(inputs)))
    if inputs.bench is not None:
        note, table = tables.display_bench(read_json(inputs.bench))
        context["details"].append(("Performance (the bench step)", note, table))
    ema = tables.ema_rows(inputs, head)
    if len(ema):
        context["details"].insert(1, ("Generator EMA: raw vs EMA, same run", "The raw generator and the exponential "
                                      "moving average of its weights, on the same latent inputs (classifier k0).",
                                      render.Table(ema)))
    recon = tables.side_rows(inputs, head, "recon", "recon")
    if len(recon):
        context["details"].insert(1, ("IntroVAE: prior samples vs reconstructions, same run", "Raw: G(z), z ~ N(0, I), "
                                      "the samples every variant is scored on; recon: G(μ(x)) of the first real test "
                                      "images (FD to those very images; classifier k0).", render.Table(recon)))
    atomic.write_text(out.markdown, render.markdown(context))
    atomic.write_text(out.index, render.html(context))
    return out.index
