"""External sample sets (``eval.external``, the ``import_samples`` step): checks that name the file,
scores identical to the run the samples came from, and the set's file as a dependency in both orchestrators."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import SMOKE_PARAMS, copy_project, git, run, study_env, write_params
from ganrepro import pipeline
from ganrepro.core import atomic
from ganrepro.core.config import load_params, validate
from ganrepro.core.errors import GanreproError, InputError, MissingInput, ParamsError
from ganrepro.core.paths import RunFiles
from ganrepro.eval.external import EXTERNAL_KEY, check_sources, import_samples, load_images
from ganrepro.pipeline import dvcyaml

N = 60  # evaluation.n_samples of the tiny study
IDENTITY = ("variant", "seed", "status", "external", "codes")  # what only says where the samples came from


def _external(cfg: dict, name: str, samples: dict, seeds=None) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg["variants"][name] = {"samples": samples}
    cfg["study"]["variants"] = list(cfg["study"]["variants"]) + [name]
    if seeds is not None:
        cfg["study"]["seeds"] = seeds
    return cfg


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 4-iteration DCGAN run, sampled and scored, with a 1-epoch classifier on 512 random images."""
    from ganrepro.eval.classifier import train_classifier
    from ganrepro.eval.evaluate import score_run
    from ganrepro.eval.sample import sample
    from ganrepro.gan.train import train

    root = tmp_path_factory.mktemp("external")
    rng = np.random.default_rng(0)
    data = root / "tiny.npz"
    atomic.write_npz(data, x_train=rng.integers(0, 256, (512, 1, 28, 28), dtype=np.uint8),
                     y_train=rng.integers(0, 10, 512).astype(np.int64),
                     x_test=rng.integers(0, 256, (128, 1, 28, 28), dtype=np.uint8),
                     y_test=rng.integers(0, 10, 128).astype(np.int64),
                     classes=np.array([f"item{i}" for i in range(10)], dtype="<U32"))
    cfg = load_params(SMOKE_PARAMS)
    cfg["train"].update(iterations=4, checkpoint_every=4, log_every=2)
    cfg["evaluation"].update(n_samples=N, memorisation_samples=20, grid_rows=4, bootstrap=10)
    cfg["gaming"]["n"] = 20
    run_dir = root / "runs" / "dcgan" / "seed0"
    train(cfg, "dcgan", 0, data, run_dir, progress=False)
    sample(cfg, run_dir, data_path=data)
    train_classifier(cfg, data, 0, root / "k0", progress=False)
    classifiers = [str(root / "k0" / "model.pt")]
    scores = score_run(cfg, run_dir, data, classifiers)
    return {"root": root, "cfg": cfg, "data": data, "run": run_dir, "classifiers": classifiers, "scores": scores}


def test_exported_and_reimported_samples_score_exactly_as_the_run(tiny_run, tmp_path):
    """The key property: a run's own samples, written out as an external set (with more images than
    scored) and imported back, get the very scores the run got (all but the identity fields)."""
    from ganrepro.eval.evaluate import score_run

    own = np.load(RunFiles(tiny_run["run"]).samples)["images"]
    extra = np.random.default_rng(1).integers(0, 256, (7, *own.shape[1:]), dtype=np.uint8)  # beyond n_samples
    np.savez(tmp_path / "mine_seed0.npz", images=np.concatenate([own, extra]))
    cfg = _external(tiny_run["cfg"], "mine", {"path": str(tmp_path / "mine_seed{seed}.npz")}, seeds=[0])
    validate(cfg)
    check_sources(cfg)
    out = tmp_path / "runs" / "mine" / "seed0"
    record = import_samples(cfg, "mine", 0, tiny_run["data"], out)
    assert (record["n_given"], record["n_used"]) == (N + 7, N)
    imported = np.load(RunFiles(out).samples)
    np.testing.assert_array_equal(imported["images"], own)
    assert json.loads(str(imported[EXTERNAL_KEY]))["file"] == str(tmp_path / "mine_seed0.npz")
    assert RunFiles(out).grid.read_bytes() == RunFiles(tiny_run["run"]).grid.read_bytes()

    theirs = score_run(cfg, out, tiny_run["data"], tiny_run["classifiers"])
    mine = tiny_run["scores"]
    assert {k: v for k, v in theirs.items() if k not in IDENTITY} == {k: v for k, v in mine.items() if k not in IDENTITY}
    assert (theirs["variant"], theirs["seed"], theirs["status"], theirs["codes"]) == ("mine", 0, "completed", None)
    assert theirs["external"]["sha256"] == record["sha256"]
    for role in ("metrics", "is_splits"):
        assert getattr(RunFiles(out), role).read_bytes() == getattr(RunFiles(tiny_run["run"]), role).read_bytes()
    a, b = np.load(RunFiles(out).probs), np.load(RunFiles(tiny_run["run"]).probs)
    assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)


def test_a_folder_of_pngs_imports_the_same_images(tiny_run, tmp_path):
    from PIL import Image

    own = np.load(RunFiles(tiny_run["run"]).samples)["images"]
    folder = tmp_path / "pngs" / "seed0"
    folder.mkdir(parents=True)
    for i, image in enumerate(own):
        Image.fromarray(image[0], mode="L").save(folder / f"{i:05d}.png")
    cfg = _external(tiny_run["cfg"], "mine", {"files": [str(folder)]}, seeds=[0])
    check_sources(cfg)
    out = tmp_path / "run"
    record = import_samples(cfg, "mine", 0, tiny_run["data"], out)
    assert record["format"] == "png folder"
    np.testing.assert_array_equal(np.load(RunFiles(out).samples)["images"], own)


def _write(path, x):
    np.savez(path, images=x)
    return path


GOOD = np.random.default_rng(0).integers(0, 256, (N, 1, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("case, make, message", [
    ("dtype", lambda: GOOD.astype(np.float32) / 255, "dtype float32, expected uint8"),
    ("range", lambda: (GOOD > 127).astype(np.uint8), "every value is 0 or 1"),
    ("layout", lambda: GOOD.transpose(0, 2, 3, 1), "look N×H×W×C"),
    ("axes", lambda: GOOD[:, 0], "expected 4 axes N×C×H×W (grey images: add the channel axis"),
    ("channels", lambda: np.repeat(GOOD, 3, axis=1), "3 channels, the study's data set has 1"),
    ("size", lambda: GOOD[:, :, :14, :14], "14×14 pixels, the study's data set has 28×28"),
    ("count", lambda: GOOD[: N - 1], f"{N - 1} images, the study scores evaluation.n_samples = {N}"),
])
def test_a_bad_set_is_refused_naming_the_file(tmp_path, case, make, message):
    path = _write(tmp_path / f"{case}.npz", make())
    with pytest.raises(InputError) as err:
        load_images(path, channels=1, size=28, n=N)
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_missing_file_key_or_png_mode_is_refused_naming_the_file(tmp_path):
    from PIL import Image

    with pytest.raises(MissingInput, match=str(tmp_path / "nowhere.npz")):
        load_images(tmp_path / "nowhere.npz")
    np.savez(tmp_path / "other_key.npz", x=GOOD)
    with pytest.raises(InputError, match=r"other_key\.npz: no array 'images' \(found: x\)"):
        load_images(tmp_path / "other_key.npz")
    (tmp_path / "pngs").mkdir()
    Image.fromarray(np.zeros((28, 28, 3), np.uint8), mode="RGB").save(tmp_path / "pngs" / "0.png")
    with pytest.raises(InputError, match=r"0\.png: PNG mode RGB, expected L"):
        load_images(tmp_path / "pngs", channels=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .png files"):
        load_images(tmp_path / "empty")


def test_validate_checks_every_set_before_any_job(tmp_path, smoke_params):
    """`ganrepro validate` (and the Snakefile, and DVC's first stage) refuse a study whose external set
    is bad, naming the variant, the seed and the file; exit status 2, no traceback."""
    _write(tmp_path / "ok_seed0.npz", np.repeat(GOOD, 4, axis=0))
    _write(tmp_path / "ok_seed1.npz", GOOD.astype(np.int16))
    cfg = _external(smoke_params, "mine", {"path": str(tmp_path / "ok_seed{seed}.npz")})
    params = write_params(tmp_path / "params.yaml", cfg)
    proc = subprocess.run([sys.executable, "-m", "ganrepro", "validate", "--params", str(params)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"variants.mine.samples, seed 1: {tmp_path / 'ok_seed1.npz'}: images of dtype int16" in proc.stderr
    assert "seed 0" not in proc.stderr  # 240 images of 1×28×28 uint8: a valid set (200 scored)
    with pytest.raises(GanreproError, match="ok_seed1.npz"):
        check_sources(cfg)


@pytest.mark.parametrize("change, key", [
    (lambda c: c["variants"]["mine"].update(lr_d=0.1), "unknown key variants.mine.lr_d"),
    (lambda c: c["variants"]["mine"].update(samples={"path": "x.npz"}), "variants.mine.samples.path: 'x.npz' has no {seed}"),
    (lambda c: c["variants"]["mine"].update(samples={"files": ["a.npz"]}), "variants.mine.samples.files: 1 files for 2 seeds"),
    (lambda c: c["bench"].update(variants=["mine"]), "bench.variants: 'mine' is an external sample set"),
    (lambda c: c["truncation"]["curves"].update(mine={"kind": "resample", "values": [0.5]}),
     "truncation.curves.mine: 'mine' is an external sample set"),
])
def test_bad_external_params_are_refused_naming_the_key(smoke_params, change, key):
    cfg = _external(smoke_params, "mine", {"path": "external/mine/seed{seed}.npz"})
    validate(copy.deepcopy(cfg))
    change(cfg)
    with pytest.raises(ParamsError) as err:
        validate(cfg)
    assert key in str(err.value)


def test_an_external_variant_has_no_generator_jobs_and_its_file_feeds_its_import_and_score_only(smoke_params):
    """The steps that need a generator (train, sample, redraw, truncation, bench) have no job for it; the
    set's file is an input of its import and score jobs and of no other (a new file reruns those, then the report)."""
    cfg = _external(smoke_params, "mine", {"path": "external/mine/seed{seed}.npz"})
    jobs = pipeline.jobs(cfg, orchestrator="snakemake")
    mine = {j.name for j in jobs if j.wildcards.get("variant") == "mine"}
    assert mine == {f"{step}_mine_seed{s}" for step in ("import_samples", "score") for s in (0, 1)}
    readers = {j.name for j in jobs if "external/mine/seed0.npz" in j.deps}
    assert readers == {"import_samples_mine_seed0", "score_mine_seed0"}
    score = next(j for j in jobs if j.name == "score_mine_seed0")
    assert not any(d.endswith("checkpoint.pt") for d in score.deps)
    assert "variants.mine" in next(j for j in jobs if j.step == "report").params
    report_deps = next(j for j in jobs if j.step == "report").deps
    assert "results/runs/mine/seed1/scores.json" in report_deps
    assert not any(d.startswith("results/runs/mine/") and d.endswith(("train_summary.json", "timing.json"))
                   for d in report_deps)
    # a study without external sets keeps its dvc.yaml loops over params.yaml's lists
    stages = dvcyaml.dvc_yaml(smoke_params)["stages"]
    assert stages["score"]["matrix"]["variant"] == "${study.variants}" and "import_samples" not in stages


@pytest.fixture(scope="module")
def external_copy(tmp_path_factory):
    """A copy of the project whose params are the smoke study's plus an external set (files written),
    dvc.yaml regenerated: Snakemake's plan and DVC's stages."""
    from test_pipeline import dvc_stages, snakemake_jobs

    work = copy_project(tmp_path_factory.mktemp("external_dag"))
    smoke = yaml.safe_load(SMOKE_PARAMS.read_text())
    cfg = _external(smoke, "mine", {"path": "external/mine/seed{seed}.npz"})
    (work / "external" / "mine").mkdir(parents=True)
    for seed in cfg["study"]["seeds"]:
        rng = np.random.default_rng(seed)
        np.savez(work / "external" / "mine" / f"seed{seed}.npz",
                 images=rng.integers(0, 256, (cfg["evaluation"]["n_samples"], 1, 28, 28), dtype=np.uint8))
    write_params(work / "params.yaml", cfg)
    run([sys.executable, "-m", "ganrepro", "dvc-yaml"], cwd=work, env=study_env(work))
    git(work, "init", "-q")
    return {"dir": work, "cfg": load_params(work / "params.yaml"), "smk": snakemake_jobs(work), "dvc": dvc_stages(work)}


def test_both_orchestrators_declare_the_external_file(external_copy):
    from test_pipeline import dag_differences, params_differences

    smk, dvc = external_copy["smk"], external_copy["dvc"]
    assert dag_differences(smk, dvc) == []
    assert params_differences(external_copy["cfg"], dvc) == []
    for name, jobs in (("Snakemake", smk), ("DVC", dvc)):
        for seed in (0, 1):
            source = f"external/mine/seed{seed}.npz"
            readers = sorted(step for (step, outs), job in jobs.items() if source in job["inputs"])
            assert readers == ["import_samples", "score"], (name, seed, readers)
        assert not any(step in ("train", "sample", "redraw") and any("/mine/" in o for o in outs)
                       for step, outs in jobs), name
    names = {v["name"] for v in dvc.values()}
    assert {"import_samples@mine-0", "score@mine-1", "score@dcgan-0", "train@dcgan-1"} <= names
    assert not any(n.startswith(("train@mine", "sample@mine", "redraw@mine")) for n in names)


def test_the_report_scores_an_external_set_beside_the_runs_and_says_where_it_came_from(tmp_path, monkeypatch):
    """A tiny study (dcgan trained, ``mine`` = its samples exported) run job by job through the CLI, as
    the orchestrators run them: the external set is in every table, a claim's subject, and named with its file."""
    import shlex

    import pandas as pd

    from ganrepro import cli

    monkeypatch.chdir(tmp_path)
    cfg = yaml.safe_load(SMOKE_PARAMS.read_text())
    cfg = _external(cfg, "mine", {"path": "external/mine/seed{seed}.npz"}, seeds=[0])
    cfg["study"]["variants"] = ["dcgan", "mine"]
    cfg["train"].update(iterations=4, checkpoint_every=4, log_every=2)
    cfg["classifier"]["count"] = 1
    cfg["evaluation"].update(n_samples=N, memorisation_samples=20, grid_rows=4, bootstrap=10, extra_draws=[])
    cfg["gaming"].update(n=20, steps=2)
    for key in ("bench", "truncation"):
        cfg.pop(key)
    cfg["claims"].append({"claim": "mine is as good as dcgan", "paper": "its own samples", "rule": "better",
                          "metric": "FD", "subjects": ["mine", "dcgan"]})
    write_params(tmp_path / "params.yaml", cfg)
    rng = np.random.default_rng(0)
    (tmp_path / "data/prepared").mkdir(parents=True)
    atomic.write_npz(tmp_path / "data/prepared/fashion_mnist.npz",
                     x_train=rng.integers(0, 256, (512, 1, 28, 28), dtype=np.uint8),
                     y_train=rng.integers(0, 10, 512).astype(np.int64),
                     x_test=rng.integers(0, 256, (128, 1, 28, 28), dtype=np.uint8),
                     y_test=rng.integers(0, 10, 128).astype(np.int64),
                     classes=np.array([f"item{i}" for i in range(10)], dtype="<U32"))
    for job in pipeline.jobs(load_params(tmp_path / "params.yaml")):
        if job.step in ("download", "prepare"):
            continue
        if job.step == "import_samples":  # the trained run's samples, exported as if made elsewhere
            (tmp_path / "external/mine").mkdir(parents=True, exist_ok=True)
            np.savez(tmp_path / "external/mine/seed0.npz",
                     images=np.load(tmp_path / "results/runs/dcgan/seed0/samples.npz")["images"])
        assert cli.main(shlex.split(job.cmd)[1:]) == 0, job.name
    report = tmp_path / "results/report"
    runs = pd.read_csv(report / "is_table.csv")
    dcgan, mine = (runs[runs.variant == v].iloc[0] for v in ("dcgan", "mine"))
    assert (mine.train_precision, mine.source) == ("external", "external/mine/seed0.npz") and pd.isna(dcgan.source)
    for col in ("IS", "MI", "FD", "NN_ratio"):
        assert mine[col] == dcgan[col], col
    assert "mine" in set(pd.read_csv(report / "summary_table.csv").variant)
    verdicts = pd.read_csv(report / "verdict_table.csv")
    assert verdicts.astype(str).apply(lambda r: r.str.contains("mine")).any().any()
    html = (report / "index.html").read_text()
    assert "External sample sets" in html and "external/mine/seed0.npz" in html
    assert (report / "img/mine_seed0_grid.png").is_file()
