"""The comparison report: results/report/{index.html, report.md, *.csv, *.png, img/}.

Tables are built with pandas from the steps' JSON files; pictures (split study, L_I curves, loss
curves, sample grids, traversals, gamed inputs) are PNGs beside the pages.
"""

from __future__ import annotations

import html
import io
import json
import math
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ganrepro import atomic  # noqa: E402

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


def _read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def _fmt(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"


def headline_split(splits: list[int]) -> str:
    return "10" if 10 in splits else str(splits[0])


def run_rows(sel: dict) -> pd.DataFrame:
    """One row per run: status, IS at every split count (classifier k0), MI, FID, spread, code error."""
    splits = sel["evaluation"]["splits"]
    head = headline_split(splits)
    rows = []
    for variant in sel["study"]["variants"]:
        for seed in sel["study"]["seeds"]:
            d = Path(f"results/runs/{variant}/seed{seed}")
            sc = _read_json(d / "scores.json")
            summ = _read_json(d / "train_summary.json")
            timing = _read_json(d / "timing.json")
            row = {"variant": variant, "seed": seed, "status": sc["status"],
                   "train_s": timing["wall_seconds"], "li_cat": summ["final"]["li_cat"]}
            k0 = sc.get("classifiers", {}).get("k0")
            for s in splits:
                v = k0["is"].get(str(s)) if k0 else None
                row[f"IS_{s}"] = v["mean"] if v else np.nan
                row[f"IS_{s}_std"] = v["std"] if v else np.nan
            row["MI"] = k0["mi"]["mi"] if k0 else np.nan
            row["MI_lo"] = k0["mi"]["lo"] if k0 else np.nan
            row["MI_hi"] = k0["mi"]["hi"] if k0 else np.nan
            row["FID"] = k0["fid_test"] if k0 else np.nan
            spread = sc.get("classifier_spread", {}).get(head)
            row["spread_pct"] = spread["spread_percent"] if spread else np.nan
            codes = sc.get("codes")
            row["code_err_q"] = codes["q_on_real_test"]["error"] if codes else np.nan
            mem = sc.get("memorisation")
            row["nn_ratio"] = mem["median_ratio"] if mem else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def real_rows(sel: dict) -> pd.DataFrame:
    ds = sel["data"]["dataset"]
    real = _read_json(Path(f"results/real/{ds}/scores.json"))
    rows = []
    for name in ("train", "test", "uniform_noise"):
        k0 = real[name]["classifiers"]["k0"]
        row = {"data": f"real {name}" if name != "uniform_noise" else "uniform noise", "n": real["n"][name]}
        for s in sel["evaluation"]["splits"]:
            v = k0["is"].get(str(s))
            row[f"IS_{s}"] = v["mean"] if v else np.nan
            row[f"IS_{s}_std"] = v["std"] if v else np.nan
        row["MI"], row["MI_lo"], row["MI_hi"] = k0["mi"]["mi"], k0["mi"]["lo"], k0["mi"]["hi"]
        head = headline_split(sel["evaluation"]["splits"])
        sp = real[name]["classifier_spread"].get(head)
        row["spread_pct"] = sp["spread_percent"] if sp else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def summary_by_variant(runs: pd.DataFrame, splits: list[int]) -> pd.DataFrame:
    head = headline_split(splits)
    ok = runs[runs.status == "completed"]
    agg = ok.groupby("variant", sort=False).agg(
        seeds=("seed", "count"),
        IS_mean=(f"IS_{head}", "mean"), IS_sd_seeds=(f"IS_{head}", lambda x: x.std(ddof=0)),
        MI_mean=("MI", "mean"), MI_sd_seeds=("MI", lambda x: x.std(ddof=0)),
        FID_mean=("FID", "mean"), spread_pct=("spread_pct", "mean"), train_s=("train_s", "mean"),
    )
    diverged = runs[runs.status != "completed"].groupby("variant", sort=False).size()
    agg = agg.reindex(runs.variant.unique())
    agg["diverged_runs"] = diverged.reindex(agg.index).fillna(0).astype(int)
    return agg.reset_index()


def _pm(mean, std, digits=3) -> str:
    return f"{_fmt(mean, digits)} ± {_fmt(std, digits)}"


def _fig_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def split_study_png(runs: pd.DataFrame, real: pd.DataFrame, splits: list[int]) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ok = runs[runs.status == "completed"]
    for variant, grp in ok.groupby("variant", sort=False):
        ax.plot(splits, [grp[f"IS_{s}"].mean() for s in splits], marker="o", ms=3, label=variant)
    styles = {"real train": "k--", "real test": "k-.", "uniform noise": "k:"}
    for _, row in real.iterrows():
        ax.plot(splits, [row[f"IS_{s}"] for s in splits], styles.get(row["data"], "k-"), lw=2, label=row["data"])
    ax.set_xscale("log")
    ax.set_xlabel("number of splits (N / split = samples per p(y) estimate)")
    ax.set_ylabel("Inception Score (domain classifier k0)")
    ax.set_title("IS depends on the split count (Barratt & Sharma 2018)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    return _fig_bytes(fig)


def curves_png(sel: dict, column: str, ylabel: str, title: str, hline: float | None = None) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    seed = sel["study"]["seeds"][0]
    for variant in sel["study"]["variants"]:
        log = pd.read_csv(f"results/runs/{variant}/seed{seed}/train_log.csv")
        if len(log):
            ax.plot(log["iteration"], log[column].rolling(5, min_periods=1).mean(), label=variant, lw=1.2)
    if hline is not None:
        ax.axhline(hline, color="k", ls="--", lw=1, label=f"H(c) = log K = {hline:.2f}")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    return _fig_bytes(fig)


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def build_report(sel: dict, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    img = out_dir / "img"
    img.mkdir(parents=True, exist_ok=True)
    ds = sel["data"]["dataset"]
    splits = sel["evaluation"]["splits"]
    head = headline_split(splits)
    runs = run_rows(sel)
    real = real_rows(sel)
    summary = summary_by_variant(runs, splits)
    classifiers = [_read_json(Path(f"results/classifiers/{ds}/k{k}/metrics.json"))
                   for k in range(sel["classifier"]["count"])]
    gaming = _read_json(Path(f"results/gaming/{ds}/scores.json"))
    toy = _read_json(Path("results/toy/toy_1d.json"))
    real_json = _read_json(Path(f"results/real/{ds}/scores.json"))

    # ---- tables (CSV, full precision) ------------------------------------------------------------
    atomic.write_text(out_dir / "is_table.csv", runs.to_csv(index=False))
    atomic.write_text(out_dir / "real_table.csv", real.to_csv(index=False))
    atomic.write_text(out_dir / "summary_table.csv", summary.to_csv(index=False))

    # ---- pictures ---------------------------------------------------------------------------------
    atomic.write_bytes(out_dir / "split_study.png", split_study_png(runs, real, splits))
    first = sel["study"]["variants"][0], sel["study"]["seeds"][0]
    h_cat = _read_json(Path(f"results/runs/{first[0]}/seed{first[1]}/train_summary.json"))["code_entropy_cat"]
    atomic.write_bytes(out_dir / "li_curves.png", curves_png(
        sel, "li_cat", "L_I (categorical part), nats",
        "Mutual-information lower bound during training (InfoGAN Fig. 1)", hline=h_cat or None))
    atomic.write_bytes(out_dir / "d_loss_curves.png", curves_png(sel, "d_loss", "D loss", "Discriminator loss"))
    for variant in sel["study"]["variants"]:
        for seed in sel["study"]["seeds"]:
            for name in ("grid", "traversals"):
                shutil.copyfile(f"results/runs/{variant}/seed{seed}/{name}.png", img / f"{variant}_seed{seed}_{name}.png")
    shutil.copyfile(f"results/gaming/{ds}/grid.png", img / "gamed.png")

    # ---- display tables ---------------------------------------------------------------------------
    main = pd.DataFrame({
        "variant": summary["variant"],
        "seeds ok": summary["seeds"].astype(str) + " / " + str(len(sel["study"]["seeds"])),
        f"IS ({head} splits), mean ± sd over seeds": [_pm(m, s) for m, s in zip(summary.IS_mean, summary.IS_sd_seeds)],
        "MI (nats)": [_pm(m, s) for m, s in zip(summary.MI_mean, summary.MI_sd_seeds)],
        "FID (domain features)": [_fmt(x, 2) for x in summary.FID_mean],
        "classifier spread %": [_fmt(x, 1) for x in summary.spread_pct],
        "train s / run": [_fmt(x, 0) for x in summary.train_s],
        "diverged": summary.diverged_runs,
    })
    per_run = pd.DataFrame({
        "variant": runs.variant, "seed": runs.seed, "status": runs.status,
        **{f"IS {s}": [_pm(m, sd, 2) for m, sd in zip(runs[f"IS_{s}"], runs[f"IS_{s}_std"])] for s in splits},
        "MI [95% CI]": [f"{_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}]" for m, lo, hi in zip(runs.MI, runs.MI_lo, runs.MI_hi)],
        "code error (Q on real)": [_fmt(x) for x in runs.code_err_q],
        "NN dist ratio": [_fmt(x, 2) for x in runs.nn_ratio],
    })
    real_disp = pd.DataFrame({
        "data": real["data"], "N": real["n"],
        **{f"IS {s}": [_pm(m, sd, 2) for m, sd in zip(real[f"IS_{s}"], real[f"IS_{s}_std"])] for s in splits},
        "MI [95% CI]": [f"{_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}]" for m, lo, hi in zip(real.MI, real.MI_lo, real.MI_hi)],
        "classifier spread %": [_fmt(x, 1) for x in real.spread_pct],
    })
    clf = pd.DataFrame({"classifier": [f"k{c['seed']}" for c in classifiers],
                        "seed": [c["seed"] for c in classifiers],
                        "test accuracy": [_fmt(c["test_accuracy"], 4) for c in classifiers]})
    game_rows = pd.DataFrame([
        {"classifier": name + (" (attacked)" if name == gaming["attacked"] else " (transfer)"),
         f"gamed inputs IS {head}": _fmt(gaming["gamed"][name]["is"].get(head, gaming["gamed"][name]["is"]["1"])["mean"], 2),
         f"real test IS {head}": _fmt(gaming["real_test_same_n"][name]["is"].get(head, gaming["real_test_same_n"][name]["is"]["1"])["mean"], 2)}
        for name in gaming["gamed"]])
    toy_rows = pd.DataFrame([{"generator": name, "IS": _fmt(toy[name]["is"], 4), "MI (nats)": _fmt(toy[name]["mi"], 4)}
                             for name in ("true_data", "pm_infinity", "uniform_100")])
    mem_copy = real_json["copied_train"]["memorisation"]
    paper = pd.DataFrame(PAPER_ROWS, columns=["paper setting", "paper number"])

    sections = [
        ("Main table", f"Per variant, over seeds; IS with domain classifier k0 at {head} splits, "
                       "contiguous splits, std ddof 0 (openai/improved-gan convention).", main),
        ("Per run: IS at every split count", "mean ± std over splits (classifier k0).", per_run),
        ("Real-data reference rows", "Same N as the generated sets; uniform noise as a floor.", real_disp),
        ("Domain classifiers", "Trained on the data set's train split; differ only in seed.", clf),
        ("IS can be gamed", f"{gaming['n']} inputs optimised against k0 by gradient ascent; maximum IS = "
                            f"{gaming['max_is']:.0f}. A copy of the training set (memorisation) scores like real data: "
                            f"median NN-distance ratio {_fmt(mem_copy['median_ratio'], 2)} (0 = exact copies).", game_rows),
        ("The 1-D toy (Barratt & Sharma)", "Mixture of N(-1, 2) and N(1, 2), Bayes-optimal classifier: "
                                           "a generator emitting ±∞ reaches the maximum IS = 2.", toy_rows),
        ("Paper vs here", "Reference numbers from the papers (other data sets and scales).", paper),
    ]
    pictures = [("split_study.png", "IS against the number of splits"),
                ("li_curves.png", "L_I over training, first seed of every variant"),
                ("d_loss_curves.png", "Discriminator loss over training")]

    md = [f"# ganrepro report — {ds}", "",
          f"Variants: {', '.join(sel['study']['variants'])}; seeds: {sel['study']['seeds']}.", ""]
    for title, note, table in sections:
        md += [f"## {title}", "", note, "", _md_table(table), ""]
    md += ["## Pictures", ""] + [f"![{cap}]({f})" for f, cap in pictures] + [""]
    md += ["## Samples (first seed) and latent traversals", ""]
    for v in sel["study"]["variants"]:
        s = sel["study"]["seeds"][0]
        md += [f"### {v}", "", f"![{v} samples](img/{v}_seed{s}_grid.png) ![{v} traversals](img/{v}_seed{s}_traversals.png)", ""]
    md += ["## Gamed inputs", "", "![gamed](img/gamed.png)", ""]
    atomic.write_text(out_dir / "report.md", "\n".join(md))

    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>ganrepro report — {esc(ds)}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:13px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
             "th{background:#f0f0f0}td:first-child{text-align:left}img{max-width:100%;image-rendering:pixelated}"
             ".grids{display:flex;flex-wrap:wrap;gap:16px}.grids figure{margin:0}</style></head><body>",
             f"<h1>ganrepro report — {esc(ds)}</h1>",
             f"<p>Variants: {esc(', '.join(sel['study']['variants']))}; seeds: {esc(str(sel['study']['seeds']))}.</p>"]
    for title, note, table in sections:
        parts += [f"<h2>{esc(title)}</h2><p>{esc(note)}</p>", table.to_html(index=False, escape=True, border=0)]
    parts.append("<h2>Pictures</h2>")
    parts += [f"<figure><img src='{f}' alt='{esc(c)}'><figcaption>{esc(c)}</figcaption></figure>" for f, c in pictures]
    parts.append("<h2>Samples (first seed) and latent traversals</h2><div class='grids'>")
    s = sel["study"]["seeds"][0]
    for v in sel["study"]["variants"]:
        parts.append(f"<figure><figcaption><b>{esc(v)}</b></figcaption><img src='img/{v}_seed{s}_grid.png' width='300'>"
                     f"<img src='img/{v}_seed{s}_traversals.png' width='420'></figure>")
    parts.append("</div><h2>Gamed inputs (noise to a person, high IS)</h2><img src='img/gamed.png' width='300'>")
    parts.append("</body></html>")
    atomic.write_text(out_dir / "index.html", "\n".join(parts))
    return out_dir / "index.html"
