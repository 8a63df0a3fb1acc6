"""The comparison report: ``results/report/{index.html, report.md, *.csv, *.png, img/}``.

A step like the others: it reads exactly the files the pipeline declared
(``pipeline.report_inputs``), builds tables (``tables``) and figures (``figures``), and renders
both pages from jinja2 templates (``render``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ganrepro import atomic
from ganrepro.paths import ReportFiles
from ganrepro.pipeline import ReportInputs
from ganrepro.report import figures, render, tables
from ganrepro.report import inception as inception_section

# "Paper vs here" reference numbers (../shared/DESIGN.md); different data set and scale, shown
# for orientation only.
PAPER_ROWS = [
    ("Real CIFAR-10 train, TF Inception, 50k samples, 10 splits (Salimans 2016)", "IS 11.24 ± 0.12"),
    ("SN-GAN, CIFAR-10, standard CNN (Miyato 2018)", "IS 7.42 ± .08"),
    ("SN-GAN hinge, CIFAR-10 (Miyato 2018)", "IS 7.58 ± .12"),
    ("WGAN-GP, CIFAR-10 (Miyato 2018)", "IS 6.68 ± .06"),
    ("Weight clipping, CIFAR-10 (Miyato 2018)", "IS 6.41 ± .11"),
    ("InfoGAN, MNIST: categorical code as classifier (Chen 2016)", "≈ 5% error"),
    ("Torch vs Keras Inception-v3 on CIFAR-10 (Barratt & Sharma 2018)", "IS 11.5% apart"),
]


def build_report(sel: dict, inputs: ReportInputs, out_dir: Path) -> Path:
    """Write the report into ``out_dir``; ``sel`` holds the declared keys (study, dataset, splits)."""
    import pandas as pd

    out = ReportFiles(out_dir)
    ds, splits, seeds = sel["data"]["dataset"], sel["evaluation"]["splits"], sel["study"]["seeds"]
    head = tables.headline_split(splits)
    runs, timing = tables.run_rows(inputs, splits), tables.timing_rows(inputs)
    real_json = tables.read_json(inputs.real_scores)
    real = tables.real_rows(real_json, splits)
    summary = tables.summary_by_variant(runs, timing, splits)
    classifiers = [tables.read_json(p) for p in inputs.classifier_metrics]
    gaming = tables.read_json(inputs.gaming.scores)
    toy = tables.read_json(inputs.toy)

    atomic.write_text(out.is_table, runs.to_csv(index=False))
    atomic.write_text(out.real_table, real.to_csv(index=False))
    atomic.write_text(out.summary_table, summary.drop(columns="train_s").to_csv(index=False))
    atomic.write_text(out.timing_table, timing.to_csv(index=False))
    if inputs.inception_real is not None:
        atomic.write_text(out.inception_table, inception_section.rows(inputs, splits).to_csv(index=False))

    atomic.write_bytes(out.split_study, figures.split_study_png(runs, real, splits))
    h_cat = tables.read_json(inputs.runs[0][2].summary)["code_entropy_cat"]
    atomic.write_bytes(out.li_curves, figures.curves_png(
        inputs, "li_cat", "L_I (categorical part), nats",
        "Mutual-information lower bound during training (InfoGAN Fig. 1)", hline=h_cat or None))
    atomic.write_bytes(out.d_loss_curves, figures.curves_png(inputs, "d_loss", "D loss", "Discriminator loss"))
    out.images.mkdir(parents=True, exist_ok=True)
    samples = []
    for variant, seed, files in inputs.runs:
        grid, trav = f"img/{variant}_seed{seed}_grid.png", f"img/{variant}_seed{seed}_traversals.png"
        shutil.copyfile(files.grid, out.dir / grid)
        shutil.copyfile(files.traversals, out.dir / trav)
        if seed == seeds[0]:
            samples.append({"variant": variant, "grid": grid, "traversals": trav})
    shutil.copyfile(inputs.gaming.grid, out.images / "gamed.png")

    mem_copy = real_json["copied_train"]["memorisation"]
    sections = [
        ("Main table", f"Per variant, over seeds; IS with domain classifier k0 at {head} splits, "
                       "contiguous splits, std ddof 0 (openai/improved-gan convention).",
         tables.display_main(summary, len(seeds), head)),
        ("Per run: IS at every split count", "mean ± std over splits (classifier k0).",
         tables.display_per_run(runs, splits)),
        ("Real-data reference rows", "Same N as the generated sets; uniform noise as a floor.",
         tables.display_real(real, splits)),
        ("Domain classifiers", "Trained on the data set's train split; differ only in seed.",
         tables.display_classifiers(classifiers)),
        ("IS can be gamed", f"{gaming['n']} inputs optimised against k0 by gradient ascent; maximum IS = "
                            f"{gaming['max_is']:.0f}. A copy of the training set (memorisation) scores like real "
                            f"data: median NN-distance ratio {tables.fmt(mem_copy['median_ratio'], 2)} "
                            "(0 = exact copies).", tables.display_gaming(gaming, head)),
        ("The 1-D toy (Barratt & Sharma)", "Mixture of N(-1, 2) and N(1, 2), Bayes-optimal classifier: "
                                           "a generator emitting ±∞ reaches the maximum IS = 2.",
         tables.display_toy(toy)),
        inception_section.section(inputs, splits),
        ("Paper vs here", "Reference numbers from the papers (other data sets and scales).",
         pd.DataFrame(PAPER_ROWS, columns=["paper setting", "paper number"])),
    ]
    ema = tables.ema_rows(inputs, splits)
    if len(ema):
        sections.insert(2, ("Generator EMA: raw vs EMA, same run", "The raw generator and the exponential moving "
                            "average of its weights, on the same latent inputs (classifier k0).", ema))
    context = {
        "dataset": ds, "variants": sel["study"]["variants"], "seeds": seeds,
        "sections": [{"title": t, "note": n, "table": df} for t, n, df in sections],
        "pictures": [(out.split_study.name, "IS against the number of splits"),
                     (out.li_curves.name, "L_I over training, first seed of every variant"),
                     (out.d_loss_curves.name, "Discriminator loss over training")],
        "samples": samples, "gamed": "img/gamed.png",
    }
    atomic.write_text(out.markdown, render.markdown(context))
    atomic.write_text(out.index, render.html(context))
    return out.index
