"""params.yaml: loading, schema validation, semantic checks, and per-variant resolution.

Every error names the offending key (as a dotted path) and the rule it breaks, and is raised
before any job starts: the Snakefile validates at parse time, each CLI step validates on load.
"""

from __future__ import annotations

import ast
import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ganrepro.core.errors import ParamsError

MECHANISMS_DIR = Path(__file__).resolve().parents[1] / "gan"
# A run's options that name registry entries: option → (registry, default when absent). The names
# each registry knows are read from the registrations in the source (``registered``), not imported:
# validation stays free of torch, and a new mechanism is its own module, with no list to edit.
REGISTRY_OPTIONS = {"loss": ("LOSSES", None), "penalty": ("PENALTIES", None), "d_norm": ("NORMS", None),
                    "optimizer": ("OPTIMIZERS", None), "architecture": ("ARCHITECTURES", "dcgan"),
                    "trainer": ("TRAINERS", "gan"), "extensions": ("EXTENSIONS", None)}

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "params.schema.yaml"
# Data sets made of the user's own files (data.source); ganrepro.data's registry marks them `local`
# (tests/test_data.py checks that the two agree; config stays free of heavy imports).
LOCAL_DATASETS = ("folder", "npz")

# The options each mechanism reads beyond the always-present ones, with the paper's value, as its
# registration declares them (``R.register("x", …, options={…})``): ``(kind, name) → {option: paper}``
# with kind "penalty" | "extensions" | "architecture" | "trainer" (the run option naming it). A run
# that uses the mechanism must state them (in ``train`` or the variant).
# Penalties on ∇ₓD per sample: batch norm in D would couple the samples of a batch.
GRADIENT_PENALTIES = ("gp", "r1", "roth", "wgan_div")


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    if not SCHEMA_PATH.exists():
        raise ParamsError(f"schema file not found: {SCHEMA_PATH}")
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _schema_message(err: jsonschema.ValidationError) -> str:
    key = _dotted(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        where = f"{key}." if err.absolute_path else ""
        return f"unknown key {', '.join(where + e for e in extra)} (allowed here: {allowed})"
    if err.validator == "required":
        return f"{key}: {err.message}"
    if err.validator == "uniqueItems":
        return f"{key}: duplicate entries in {err.instance!r}"
    if err.validator in ("exclusiveMinimum", "minimum"):
        return f"{key}: {err.instance!r} is too small ({err.validator} {err.validator_value})"
    return f"{key}: {err.message}"


def validate(cfg: Any, source: str = "params") -> dict:
    """Check ``cfg`` against the schema and the semantic rules; return it unchanged."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        lines = [f"  - {_schema_message(e)}" for e in errors[:10]]
        raise ParamsError(f"{source} is invalid:\n" + "\n".join(lines))
    problems = semantic_problems(cfg)
    if problems:
        raise ParamsError(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))
    return cfg


# Architectures that need their own extension and bring their own normalisation: (architecture,
# extension, what the extension does for it, the normalisation it has instead of SN / D norms).
OWN_NETS = (
    ("pggan", "progressive", "moves the growing nets' stage and fade α; other nets do not grow",
     "equalised learning rate, pixel norm in G, none in D"),
    ("stylegan", "style_mixing", "hands G the run's generator for its mixing and noise draws; style_mixing: 0 turns "
     "mixing off", "equalised learning rate, weight demodulation in G, none in D"),
)


def semantic_problems(cfg: dict) -> list[str]:
    """Rules a JSON schema cannot express."""
    problems = []
    for name in cfg["study"]["variants"]:
        if name not in cfg["variants"]:
            problems.append(
                f"study.variants: '{name}' is not defined under variants "
                f"(defined: {', '.join(sorted(cfg['variants']))})"
            )
    problems += _data_problems(cfg["data"])
    if cfg.get("inception", {}).get("n_train", 2) < 2:
        problems.append("inception.n_train: the FID statistics need at least 2 training images")
    ev = cfg["evaluation"]
    for s in ev["splits"]:
        if s > ev["n_samples"]:
            problems.append(
                f"evaluation.splits: split count {s} is larger than evaluation.n_samples "
                f"({ev['n_samples']}): each split needs at least one sample"
            )
        if s > cfg["gaming"]["n"]:
            problems.append(f"evaluation.splits: split count {s} is larger than gaming.n ({cfg['gaming']['n']})")
    if ev["memorisation_samples"] > ev["n_samples"]:
        problems.append(
            f"evaluation.memorisation_samples ({ev['memorisation_samples']}) is larger than "
            f"evaluation.n_samples ({ev['n_samples']})"
        )
    if ev["grid_rows"] ** 2 > ev["n_samples"]:
        problems.append(f"evaluation.grid_rows: {ev['grid_rows']}² images exceed evaluation.n_samples")
    problems += external_problems(cfg)
    names = name_problems(cfg)
    if names:
        return problems + names
    for name in cfg["variants"]:  # every defined variant, in the study or not: ready to be added
        if is_external(cfg, name):
            continue
        run = resolve_variant(cfg, name)
        key = f"variants.{name}"
        if run["penalty"] in GRADIENT_PENALTIES and run["d_norm"] == "batch":
            problems.append(
                f"{key}: penalty '{run['penalty']}' with d_norm 'batch': a gradient penalty is "
                "per sample and batch norm couples the samples of a batch (use none or layer)"
            )
        if run["spectral_norm"] and run["d_norm"] == "batch":
            problems.append(
                f"{key}: spectral_norm with d_norm 'batch': under spectral norm the training step "
                "passes real and fake samples through D as one batch (one power-iteration step per "
                "update) and runs D in eval mode on G's turn, which batch statistics would change "
                "(use d_norm none or layer)"
            )
        if run["penalty"] == "clip" and run["spectral_norm"]:
            problems.append(f"{key}: weight clipping and spectral_norm are two constraints; pick one")
        codes = run["codes"]
        if codes["categorical"] == 0 and codes["continuous"] == 0 and run.get("trainer") != "introvae":
            # trainers.gan.Run's side Q probe then has nothing to predict and its backward fails (a
            # constant loss); until the training step skips the probe, refuse it here.
            problems.append(f"{key}.codes: at least one latent code is needed (the L_I probe of every run "
                            "predicts them); e.g. continuous: 1 with z_dim one smaller keeps G's input size")
        if codes["categorical"] == 1:
            problems.append(f"{key}.codes.categorical: 1 category carries no information (use 0 or ≥ 2)")
        if (run["lambda_cat"] > 0 and codes["categorical"] == 0) or (
            run["lambda_cont"] > 0 and codes["continuous"] == 0
        ):
            problems.append(f"{key}: an InfoGAN weight λ > 0 needs the matching code (codes.*) > 0")
        problems += mechanism_problems(run, key)
    problems += [f"bench.variants: '{v}' is not a variant defined under variants"
                 for v in cfg.get("bench", {}).get("variants", []) if v not in cfg["variants"]]
    problems += [f"bench.variants: '{v}' is an external sample set (variants.{v}.samples): there is no "
                 "training step to time" for v in cfg.get("bench", {}).get("variants", []) if is_external(cfg, v)]
    problems += truncation_problems(cfg)
    return problems + claim_problems(cfg)


def is_external(cfg: dict, variant: str) -> bool:
    """Whether ``variant`` is a sample set made elsewhere (``variants.<name>.samples``), not trained here."""
    return "samples" in (cfg.get("variants", {}).get(variant) or {})


def external_variants(cfg: dict) -> list[str]:
    """The study's variants given as external sample sets, in study order."""
    return [v for v in cfg["study"]["variants"] if is_external(cfg, v)]


def trained_variants(cfg: dict) -> list[str]:
    """The study's variants it trains (every one but the external sample sets), in study order."""
    return [v for v in cfg["study"]["variants"] if not is_external(cfg, v)]


def samples_source(cfg: dict, variant: str, seed: int) -> str:
    """The file (an .npz) or folder (PNGs) of external variant ``variant``'s samples of ``seed``."""
    samples = cfg["variants"][variant]["samples"]
    if "files" in samples:
        return samples["files"][list(cfg["study"]["seeds"]).index(seed)]
    return samples["path"].replace("{seed}", str(seed))


def external_problems(cfg: dict) -> list[str]:
    """An external variant names one sample set per seed of the study (the files themselves are checked
    by ``ganrepro.eval.external``: ``ganrepro validate``, the Snakefile, the import step)."""
    problems = []
    seeds = cfg["study"]["seeds"]
    for name, opts in cfg["variants"].items():
        samples = (opts or {}).get("samples")
        if samples is None:
            continue
        key = f"variants.{name}.samples"
        if "files" in samples and len(samples["files"]) != len(seeds):
            problems.append(f"{key}.files: {len(samples['files'])} files for {len(seeds)} seeds (study.seeds "
                            f"{seeds}): give one per seed, in that order")
        if "path" in samples and "{seed}" not in samples["path"] and len(seeds) > 1:
            problems.append(f"{key}.path: {samples['path']!r} has no {{seed}}, so every seed would score the same "
                            f"images ({len(seeds)} seeds): put {{seed}} where the seed goes")
        if "path" in samples and "{" in samples["path"].replace("{seed}", ""):
            problems.append(f"{key}.path: {samples['path']!r}: the only placeholder is {{seed}}")
    return problems


def truncation_problems(cfg: dict) -> list[str]:
    """Each curve names a defined variant and values its kind takes; enough images to score."""
    opts = cfg.get("truncation")
    if not opts:
        return []
    problems = []
    splits = cfg["evaluation"]["splits"]
    head = 10 if 10 in splits else splits[0]  # headline.headline_split (config stays import-light)
    if opts["n_samples"] < max(head, 2):
        problems.append(f"truncation.n_samples: {opts['n_samples']} images cannot give IS@{head} (the headline "
                        "split count) and an FD (a covariance needs 2)")
    for name, curve in opts["curves"].items():
        key = f"truncation.curves.{name}"
        if name not in cfg["variants"]:
            problems.append(f"{key}: '{name}' is not a variant defined under variants")
        elif is_external(cfg, name):
            problems.append(f"{key}: '{name}' is an external sample set (variants.{name}.samples): a truncation "
                            "curve draws from a generator, and the study has none of it")
        if curve["kind"] == "resample":
            bad = [v for v in curve["values"] if not v > 0]
            if bad:
                problems.append(f"{key}.values: kind 'resample' truncates z to [−t, t] and needs t > 0, got {bad}")
    return problems


def claim_problems(cfg: dict) -> list[str]:
    """Each claim names defined variants or reference sets, and split counts the study computes.

    A defined variant left out of ``study.variants`` is fine: its claims read "not tested".
    """
    problems = []
    references = set(_schema()["$defs"]["reference_subject"]["enum"])
    splits = cfg["evaluation"]["splits"]
    for i, claim in enumerate(cfg["claims"]):
        key = f"claims.{i}"
        for field in ("subjects", "above", "below"):
            for name in claim.get(field, []):
                if name not in cfg["variants"] and name not in references:
                    problems.append(f"{key}.{field}: '{name}' is neither a variant defined under variants nor a "
                                    f"reference set ({', '.join(sorted(references))})")
        for metric in [claim.get("metric")] + claim.get("metrics", []):
            if metric and metric.startswith("IS@") and int(metric[3:]) not in splits:
                problems.append(f"{key}.metric: {metric} needs {metric[3:]} in evaluation.splits {splits}")
    return problems


def registered() -> dict[str, tuple[str, ...]]:
    """Registry name → the entries the mechanisms' source registers (``R.register("x", …)``,
    ``@R.register("x")``), read from ganrepro/gan without importing it.

    Not a dependency of any step's code fingerprint, by design: a name check only accepts or refuses
    a params file before any job starts; it cannot change what a job computes."""
    return _scan()[0]


@functools.cache
def _scan() -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, str], dict[str, str]]]:
    """The registrations in ganrepro/gan: registry → names, and (registry, name) → declared options."""
    names: dict[str, list[str]] = {}
    options: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(MECHANISMS_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register" \
                    and isinstance(node.func.value, ast.Name) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                registry, name = node.func.value.id, node.args[0].value
                names.setdefault(registry, []).append(name)
                for kw in node.keywords:
                    if kw.arg == "options":
                        options[(registry, name)] = ast.literal_eval(kw.value)
    return {reg: tuple(v) for reg, v in names.items()}, options


def mechanism_options() -> dict[tuple[str, str], dict[str, str]]:
    """(kind, name) → the options a run that uses the mechanism must state, with the paper's value,
    as each registration declares them (``options=``); kind is the run option naming it."""
    kind_of = {registry: option for option, (registry, _) in REGISTRY_OPTIONS.items()}
    return {(kind_of[reg], name): opts for (reg, name), opts in _scan()[1].items() if reg in kind_of}


def name_problems(cfg: dict) -> list[str]:
    """Each option that names a mechanism, in ``train`` or a variant, names a registered one."""
    problems = []
    sections = [("train", cfg["train"])] + [(f"variants.{v}", opts or {}) for v, opts in cfg["variants"].items()]
    for where, options in sections:
        for option, (registry, _) in REGISTRY_OPTIONS.items():
            if option not in options:
                continue
            known = registered().get(registry, ())
            what = "extension" if option == "extensions" else option
            for name in options[option] if option == "extensions" else [options[option]]:
                if name not in known:
                    problems.append(f"{where}.{option}: unknown {what} '{name}' (known: {', '.join(known)})")
    return problems


def mechanism_problems(run: dict, key: str) -> list[str]:
    """A mechanism's options are stated, and it is combined with what its paper defines it for."""
    problems = []
    used = [("penalty", run["penalty"]), ("architecture", run.get("architecture")), ("trainer", run.get("trainer", "gan"))]
    used += [("extensions", name) for name in run.get("extensions", ())]
    for kind, name in used:
        for option, paper in mechanism_options().get((kind, name), {}).items():
            if option not in run:
                problems.append(f"{key}.{option}: {kind} '{name}' needs it, in train or the variant ({paper})")
    extensions = run.get("extensions", ())
    if run["penalty"] == "roth" and run["loss"] not in ("non_saturating", "minimax"):
        problems.append(f"{key}: penalty 'roth' is Roth et al.'s regulariser for D = σ(logits) of the "
                        f"cross-entropy GAN; loss '{run['loss']}' is not (use non_saturating or minimax)")
    for kind, name in (("penalty", "wgan_div"), ("extensions", "consistency")):
        if (name == run["penalty"] or name in extensions) and run["loss"] != "wasserstein":
            problems.append(f"{key}: {kind} '{name}' is defined for a Wasserstein critic; loss "
                            f"'{run['loss']}' is not (use wasserstein)")
    for arch, ext, why, own_norm in OWN_NETS:
        uses = run.get("architecture") == arch
        if uses != (ext in extensions):
            problems.append(f"{key}: architecture '{arch}' and extension '{ext}' go together (the extension {why})")
        if uses and (run["spectral_norm"] or run["d_norm"] != "none"):
            problems.append(f"{key}: architecture '{arch}' has its own normalisation ({own_norm}): set spectral_norm "
                            "false and d_norm none")
    if "progressive" in extensions and "ema" in extensions and extensions.index("ema") < extensions.index("progressive"):
        problems.append(f"{key}.extensions: list 'progressive' before 'ema' (G_ema copies G's stage after each update)")
    conditional = run.get("trainer") == "conditional"
    if conditional != (run.get("architecture") == "biggan"):
        problems.append(f"{key}: architecture 'biggan' and trainer 'conditional' go together (the projection D "
                        "needs each image's class; the other nets take none)")
    if conditional:
        if run["penalty"] != "none" or set(extensions) - {"ema", "orthogonal"}:
            problems.append(f"{key}: trainer 'conditional' takes penalty none and extensions ema, orthogonal only "
                            "(the others call D(x) without a class)")
        if run["lambda_cat"] > 0:
            problems.append(f"{key}.lambda_cat: under trainer 'conditional' the categorical code is the class, "
                            "not an InfoGAN code: keep it 0")
        if run["codes"]["categorical"] < 2:
            problems.append(f"{key}.codes.categorical: trainer 'conditional' reads it as the number of classes")
    problems += introvae_problems(run, key)
    for name in ("consistency", "vdb"):
        if name in extensions and run["spectral_norm"]:
            problems.append(f"{key}: extension '{name}' with spectral_norm: the step runs D in eval mode on "
                            "G's turn under spectral norm, which switches off the dropout/sampling the "
                            "extension trains D with")
    return problems


def introvae_problems(run: dict, key: str) -> list[str]:
    """IntroVAE (Huang 2018): trainer, architecture and loss go together; its step (trainers.introvae)
    defines none of the GAN step's options, so each is refused by name rather than ignored."""
    parts = {"trainer": run.get("trainer") == "introvae", "architecture": run.get("architecture") == "introvae",
             "loss": run["loss"] == "introvae"}
    if not any(parts.values()):
        return []
    if not all(parts.values()):
        missing = ", ".join(f"{k} introvae" for k, on in parts.items() if not on)
        return [f"{key}: trainer, architecture and loss 'introvae' go together (the encoder is the discriminator and "
                f"the objective needs its KL; the other nets and losses have neither): set {missing}"]
    why = "trainer 'introvae' (Huang 2018, Algorithm 1) does not define it"
    problems = []
    if run["penalty"] != "none":
        problems.append(f"{key}.penalty: '{run['penalty']}' — {why}: use none")
    if run.get("extensions"):
        problems.append(f"{key}.extensions: {list(run['extensions'])} — {why}: use []")
    if run["spectral_norm"]:
        problems.append(f"{key}.spectral_norm: {why}: use false")
    if run["d_norm"] == "batch":
        problems.append(f"{key}.d_norm: 'batch' would mix the statistics of real, reconstructed and generated "
                        "batches in the encoder, whose eval mode then reconstructs with their running average "
                        "(use none or layer)")
    if run["n_critic"] != 1:
        problems.append(f"{key}.n_critic: {run['n_critic']} — one E update per G update in {why.split(' does')[0]}: use 1")
    for name in ("lambda_cat", "lambda_cont"):
        if run[name] > 0:
            problems.append(f"{key}.{name}: InfoGAN's L_I — {why}: use 0")
    if run.get("z_prior", "normal") != "normal":
        problems.append(f"{key}.z_prior: IntroVAE's prior is N(0, I): use normal")
    if run["codes"]["categorical"] or run["codes"]["continuous"]:
        problems.append(f"{key}.codes: IntroVAE's prior is N(0, I) over all of G's input (z_dim), and E encodes "
                        "no codes: use categorical 0, continuous 0")
    return problems


def _data_problems(data: dict) -> list[str]:
    local = data["dataset"] in LOCAL_DATASETS
    if local and "source" not in data:
        return [f"data.source: data set '{data['dataset']}' is your own data and needs data.source "
                f"({'a directory of images' if data['dataset'] == 'folder' else 'an .npz file of uint8 arrays'})"]
    return [f"data.{key}: only for your own data (data.dataset folder or npz), not '{data['dataset']}'"
            for key in ("source", "test_fraction") if key in data and not local]


def load_params(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"params file not found: {path}")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    return validate(cfg, source=str(path))


def resolve_variant(cfg: dict, variant: str) -> dict:
    """The training options of one variant: ``train`` defaults overridden by ``variants.<name>`` (an
    external sample set's: the defaults and its ``samples``; nothing trains it)."""
    if variant not in cfg["variants"]:
        raise ParamsError(f"variants.{variant}: no such variant (defined: {', '.join(sorted(cfg['variants']))})")
    run = copy.deepcopy(cfg["train"])
    run.update(copy.deepcopy(cfg["variants"][variant]))
    return run


def select(cfg: dict, keys: list[str]) -> dict:
    """The sub-config made of the dotted ``keys`` only (what a stage declares it reads)."""
    out: dict = {}
    for key in keys:
        parts = key.split(".")
        src = cfg
        for p in parts:
            if not isinstance(src, dict) or p not in src:
                raise ParamsError(f"{key}: declared by a stage but missing from params")
            src = src[p]
        dst = out
        for p in parts[:-1]:
            dst = dst.setdefault(p, {})
        dst[parts[-1]] = copy.deepcopy(src)
    return out
