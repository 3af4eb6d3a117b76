"""Train, measure and ship a pretrained module of the zoo: ``python -m trainers.recipe NAME``.

A recipe is the exact command lines that made a module under ``pretrained/<NAME>/``:
the trainer call(s), the ``trainers.evaluate`` calls whose reports go into its model
card, and a ``trainers.generate`` call for its sample grid. Running it again
reproduces the module (the trainers are deterministic given the seed; the card's
numbers repeat within the noise of the machine's floating point).

    python -m trainers.recipe --list
    python -m trainers.recipe vgan_bouncing_balls                 # work in runs/recipes/<NAME>, ship to pretrained/
    python -m trainers.recipe vgan_bouncing_balls --work_dir=/tmp/r --out_dir=/tmp/pretrained

Every step is resumable: a trainer continues from its checkpoints, a finished trainer
call (``<work>/.done/<i>``) and an existing evaluation report are not run again, so an
interrupted recipe is finished by running the same command. The module is written
with its card only at the end, atomically (``export.card.write_pretrained``).
Recipes that measure generators need the shipped metric networks
(``c3d_synthetic_actions``); a missing one is named in the error.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
import subprocess
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from absl import flags

from trainers import common, evaluate

# export.card (which imports TensorFlow) is imported where it is used, so that --help and a bad
# flag answer at once (under a second; importing TensorFlow takes 7-12 s here, see trainers.common).

FLAGS = flags.FLAGS
PRETRAINED_DIR = "pretrained"
WORK_DIR = os.path.join("runs", "recipes")


#: The notes of each recipe's card, one Markdown file per recipe (``<name>.md``: a bullet per note).
NOTES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipe_notes")


def recipe_notes(name: str) -> Tuple[str, ...]:
    """The notes of recipe ``name``: the bullets of ``recipe_notes/<name>.md``, each a "- " line and
    the indented lines after it joined into one paragraph; () without a file."""
    path = os.path.join(NOTES_DIR, f"{name}.md")
    if not os.path.exists(path):
        return ()
    notes: List[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("- "):
                notes.append(line[2:].strip())
            elif line.strip():
                if not notes:
                    raise ValueError(f"{path}: expected notes as '- ' bullets, got {line.strip()!r}")
                notes[-1] += " " + line.strip()
    return tuple(notes)


@dataclasses.dataclass(frozen=True)
class Ship:
    """A step of a recipe that ships an intermediate module (e.g. a two-step model's image
    generator) under ``<out_dir>/<name>``, so that the next training command can load it as
    ``{pretrained}/<name>``, exactly as a user starts from a shipped module."""

    name: str
    module: str
    run_dir: str
    summary: str


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How one shipped module is made. Paths may use ``{work}`` (the recipe's work folder)
    and ``{pretrained}`` (the folder of shipped modules); ``{module}`` in evaluations is
    the trained module."""

    name: str
    summary: str
    train: Tuple[object, ...]  # ("trainers.vgan", "--flag=...", ...) per command, or Ship
    module: str  # the SavedModel to ship, e.g. {work}/exports/vgan/1
    run_dir: str  # whose config, progress and losses go into the card
    evaluations: Mapping[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)
    generate: Tuple[str, ...] = ()  # trainers.generate flags for the sample grid
    requires: Tuple[str, ...] = ()  # shipped modules the evaluations use
    notes: Tuple[str, ...] = ()
    reports: Mapping[str, str] = dataclasses.field(default_factory=dict)  # card key -> a JSON file training wrote
    images: Mapping[str, str] = dataclasses.field(default_factory=dict)  # caption -> a GIF training wrote


def _evaluations(
    dataset: str,
    frames: int,
    channels: int,
    metrics: str,
    size: int = 32,
    networks: Tuple[str, ...] = ("c3d",),
    costly: str = "",
    signature: str = "",
) -> Dict[str, Tuple[str, ...]]:
    """The four measurements of a generator of ``dataset`` (see SOURCES), with the shipped
    metric networks ``networks``; ``costly`` metrics (e.g. s3, which trains classifiers) are
    measured for the generator and the real floor only. ``signature``: the export's signature
    that makes the clips (e.g. VGAN's ``future``), for the module and its untrained twin."""
    real = (
        f"--real={dataset}",
        f"--frames={frames}",
        f"--size={size}",
        f"--channels={channels}",
        "--num_samples=256",
    ) + tuple(f"--{n}={{pretrained}}/{n}_synthetic_actions" for n in networks)
    sources = {
        "generator": "{module}",
        "untrained": "untrained:{module}",
        "shuffled": f"shuffled:{dataset}",
        "real": f"dataset:{dataset}",
    }
    if dataset in evaluate.JITTERED:
        sources["jittered"] = f"jittered:{dataset}"
    return {
        label: (f"--generator={source}",)
        + ((f"--signature={signature}",) if signature and label in ("generator", "untrained") else ())
        + real
        + (f"--metrics={metrics},{costly}" if costly and label in ("generator", "real") else f"--metrics={metrics}",)
        for label, source in sources.items()
    }


def _balls_evaluations(
    frames: int, signature: str = "", metrics: str = "fvd_local_16f,kid,balls"
) -> Dict[str, Tuple[str, ...]]:
    """The four measurements of a bouncing-balls generator (grey, 32x32)."""
    return _evaluations("bouncing_balls", frames, 1, metrics, signature=signature)


#: What each evaluation of a generator recipe measures (a card's metric columns).
SOURCES = {
    "generator": "the shipped module",
    "untrained": "the same model with the initial weights of its seed (where training started)",
    "shuffled": "real clips of another stream with the frames of each clip permuted: right frames, wrong motion",
    "real": "real clips of another stream: the floor a perfect generator would reach",
    "jittered": "real clips of another stream with each frame advancing a random 0.5-1.5 of the data's step: "
    "right frames and paths, wrong speeds",
}


def _classifier(arch: str, steps: int) -> Recipe:
    name = f"{arch}_synthetic_actions"
    return Recipe(
        name=name,
        summary=(
            f"The zoo's {arch.upper()} video classifier (`small`: 16 frames of 32x32 RGB) trained on the "
            "built-in synthetic_actions (10 classes that differ only by motion). It is the metric "
            f"network of every shipped card (`--{arch}` of trainers.evaluate"
            + (": fvd_local_16f, kid, is_c3d" if arch == "c3d" else ": is_lrcn, fid_frames")
            + ") and a condition network for STGAN's activation maximization."
        ),
        train=(
            (
                "trainers.classifier",
                f"--arch={arch}",
                "--preset=small",
                "--run_dir={work}/run",
                f"--steps={steps}",
                "--checkpoint_every=500",
                "--sample_every=1000000",
                "--verbose=0",
                "--hub_dir={work}/module",
            ),
        ),
        module="{work}/module",
        run_dir="{work}/run",
    )


RECIPES: Dict[str, Recipe] = {
    r.name: r
    for r in (
        _classifier("c3d", 3000),
        _classifier("lrcn", 3000),
        Recipe(
            name="vgan_bouncing_balls",
            summary=(
                "VGAN (two-stream, section 2.2) trained on the built-in bouncing balls: 16 frames of 32x32, "
                "one (grey) channel, three balls of radius 1/8 on black."
            ),
            train=(
                (
                    "trainers.vgan",
                    "--preset=small",
                    "--channels=1",
                    "--dataset=bouncing_balls",
                    "--run_dir={work}/run",
                    "--steps=14000",
                    "--checkpoint_every=1000",
                    "--sample_every=1000",
                    "--verbose=0",
                    "--export_dir={work}/exports",
                    "--generator_average=0.999",
                ),
            ),
            module="{work}/exports/vgan/1",
            run_dir="{work}/run",
            evaluations=_balls_evaluations(16),
            generate=("--num_videos=16",),
            requires=("c3d_synthetic_actions",),
            notes=recipe_notes("vgan_bouncing_balls"),
        ),
        Recipe(
            name="vgan_future_bouncing_balls",
            summary=(
                "VGAN's future generation (section 3.4: a still frame in, its video out) trained on the built-in "
                "bouncing balls: 16 frames of 32x32, one (grey) channel. The `future` signature takes the first "
                "frame; the module's clips continue it."
            ),
            train=(
                (
                    "trainers.vgan",
                    "--preset=small",
                    "--channels=1",
                    "--dataset=bouncing_balls",
                    "--future",
                    "--d_learning_rate=5e-5",
                    "--generator_average=0.999",
                    "--run_dir={work}/run",
                    "--steps=2500",
                    "--checkpoint_every=500",
                    "--sample_every=500",
                    "--verbose=0",
                    "--export_dir={work}/exports",
                ),
            ),
            module="{work}/exports/vgan/1",
            run_dir="{work}/run",
            evaluations=_balls_evaluations(16, "future", "fvd_local_16f,kid,balls,continuation"),
            generate=("--signature=future", "--images=bouncing_balls", "--num_videos=16"),
            requires=("c3d_synthetic_actions",),
            notes=recipe_notes("vgan_future_bouncing_balls"),
        ),
        Recipe(
            name="traversal_bouncing_balls",
            summary=(
                "The manifold-traversal GAN (`small`: 32x32 grey frames, 30-frame videos, K = 8 image and 4 video "
                "projected discriminators) on its paper's data, bouncing balls: G_F trained in step one and shipped "
                "as `traversal_gf_bouncing_balls`, then the latent walker G_V trained through that module."
            ),
            train=(
                (
                    "trainers.traversal",
                    "--stage=image",
                    "--preset=small",
                    "--channels=1",
                    "--run_dir={work}/frames",
                    "--steps=3000",
                    "--checkpoint_every=1000",
                    "--sample_every=1000",
                    "--verbose=0",
                    "--hub_dir={work}/gf",
                ),
                Ship(
                    "traversal_gf_bouncing_balls",
                    "{work}/gf",
                    "{work}/frames",
                    "G_F of the manifold-traversal GAN (step one, `small`: z_F of 32 ~ N(0, I) -> a 32x32 grey "
                    "frame of bouncing balls), trained against 8 projected image discriminators; the image "
                    "generator `traversal_bouncing_balls` walks. Any zoo model that takes an image-generator "
                    "module can start from it (`--image_generator_handle`).",
                ),
                (
                    "trainers.traversal",
                    "--stage=video",
                    "--preset=small",
                    "--channels=1",
                    "--run_dir={work}/video",
                    "--image_generator_handle={pretrained}/traversal_gf_bouncing_balls",
                    "--steps=8000",
                    "--checkpoint_every=500",
                    "--sample_every=500",
                    "--verbose=0",
                    "--export_dir={work}/exports",
                ),
            ),
            module="{work}/exports/traversal/1",
            run_dir="{work}/video",
            evaluations=_balls_evaluations(30),
            generate=("--num_videos=16",),
            requires=("c3d_synthetic_actions",),
            notes=recipe_notes("traversal_bouncing_balls"),
        ),
        Recipe(
            name="tgan_moving_digits",
            summary=(
                "TGAN (`small`: 32x32 grey frames, 16-frame videos) on the built-in moving digits (two rendered "
                "digits bouncing in the frame) in its two steps: G1 and D1 trained on frames in step one and G1 "
                "shipped as `tgan_g1_moving_digits`, then the temporal generator G0 and D0 trained through that "
                "G1 (frozen but its batch-norm gamma/beta, section 5.2) with a fresh D1' that trained in full "
                "beside D0 (no D1 module was shipped or loaded)."
            ),
            train=(
                (
                    "trainers.tgan",
                    "--stage=image",
                    "--preset=small",
                    "--channels=1",
                    "--dataset=moving_digits",
                    "--loss=non_saturating",
                    "--run_dir={work}/image",
                    "--steps=3000",
                    "--checkpoint_every=500",
                    "--sample_every=500",
                    "--verbose=0",
                    "--hub_dir={work}/g1",
                ),
                Ship(
                    "tgan_g1_moving_digits",
                    "{work}/g1",
                    "{work}/image",
                    "G1 of TGAN (step one, `small`: z1 of 32 ~ U(-1, 1) -> a 32x32 grey frame of two moving "
                    "digits), the image generator `tgan_moving_digits`'s G0 drives. Any zoo model that takes an "
                    "image-generator module can start from it (`--image_generator_handle`).",
                ),
                (
                    "trainers.tgan",
                    "--stage=video",
                    "--preset=small",
                    "--channels=1",
                    "--dataset=moving_digits",
                    "--loss=non_saturating",
                    "--d_noise=0.3",
                    "--run_dir={work}/video",
                    "--image_generator_handle={pretrained}/tgan_g1_moving_digits",
                    "--steps=3000",
                    "--checkpoint_every=500",
                    "--sample_every=500",
                    "--verbose=0",
                    "--export_dir={work}/exports",
                ),
            ),
            module="{work}/exports/tgan/1",
            run_dir="{work}/video",
            evaluations=_evaluations("moving_digits", 16, 1, "fvd_local_16f,kid,digits"),
            generate=("--num_videos=16",),
            requires=("c3d_synthetic_actions",),
            notes=recipe_notes("tgan_moving_digits"),
        ),
        Recipe(
            name="tgan_later_moving_digits",
            summary=(
                "TGAN in the authors' later design (their public code, pfnet-research/tgan), trained end to end "
                "on the built-in moving digits (`small`: 32x32 grey frames, 16-frame videos): G0 emits one latent "
                "per frame (no bilinear up-sampling), G1 takes the clip's z0 beside each frame's z1 (a content "
                "code), and the video discriminator is a 3D convolution on the pixels. Not the paper's two-step "
                "method, which `tgan_moving_digits` follows."
            ),
            train=(
                (
                    "trainers.tgan",
                    "--stage=video",
                    "--preset=small",
                    "--channels=1",
                    "--dataset=moving_digits",
                    "--loss=non_saturating",
                    "--d_noise=0",
                    "--d_learning_rate=5e-5",
                    "--image_generator_training=all",
                    "--g0_upsample=false",
                    "--content_code=true",
                    "--video_discriminator=pixels",
                    "--generator_average=0.999",
                    "--run_dir={work}/video",
                    "--steps=4000",
                    "--checkpoint_every=250",
                    "--sample_every=250",
                    "--verbose=0",
                    "--export_dir={work}/exports",
                ),
            ),
            module="{work}/exports/tgan/1",
            run_dir="{work}/video",
            evaluations=_evaluations("moving_digits", 16, 1, "fvd_local_16f,kid,digits"),
            generate=("--num_videos=16",),
            requires=("c3d_synthetic_actions",),
            notes=recipe_notes("tgan_later_moving_digits"),
        ),
        Recipe(
            name="mvt_synthetic_actions",
            summary=(
                "MVT-TSA (`small`: 32x32 RGB, 16 frames, temporal self-attention, sigma_A, sigma_B, sigma_C = "
                "0.5, 1, 2) trained class-conditionally on the built-in synthetic_actions (10 classes that "
                "differ only by motion)."
            ),
            train=(
                (
                    "trainers.mvt",
                    "--preset=small",
                    "--dataset=synthetic_actions",
                    "--run_dir={work}/run",
                    "--steps=10500",
                    "--checkpoint_every=500",
                    "--sample_every=1000",
                    "--verbose=0",
                    "--export_dir={work}/exports",
                    "--generator_average=0.999",
                ),
            ),
            module="{work}/exports/mvt/1",
            run_dir="{work}/run",
            evaluations=_evaluations(
                "synthetic_actions", 16, 3, "fvd_local_16f,kid,acc_c3d,acc_lrcn", networks=("c3d", "lrcn"), costly="s3"
            ),
            generate=("--num_videos=20",),
            requires=("c3d_synthetic_actions", "lrcn_synthetic_actions"),
            notes=recipe_notes("mvt_synthetic_actions"),
        ),
        Recipe(
            name="stgan_synthetic_actions",
            summary=(
                "STGAN (`small`: 32x32 RGB, 16 frames): the 2D source trained on frames of the built-in "
                "synthetic_actions and shipped as `stgan_source_synthetic_actions`, inflated to 3D, then "
                "activation maximization (section 4.1) of every class against the shipped LRCN "
                "(`lrcn_synthetic_actions`), the same videos judged by the shipped C3D: the paper's roles "
                "(an LRCN conditions its main experiments, a C3D measures them)."
            ),
            train=(
                (
                    "trainers.stgan",
                    "--stage=image",
                    "--preset=small",
                    "--dataset=synthetic_actions",
                    "--run_dir={work}/image",
                    "--steps=14000",
                    "--checkpoint_every=1000",
                    "--sample_every=1000",
                    "--verbose=0",
                    "--hub_dir={work}/source",
                ),
                Ship(
                    "stgan_source_synthetic_actions",
                    "{work}/source",
                    "{work}/image",
                    "STGAN's 2D source (`small`: z of 128 ~ N(0, I) -> a 32x32 RGB frame of synthetic_actions), "
                    "a Sequential generator that STGAN's stage video inflates to 3D "
                    "(`--source_generator_handle`).",
                ),
                (
                    "trainers.stgan",
                    "--stage=video",
                    "--preset=small",
                    "--dataset=synthetic_actions",
                    "--run_dir={work}/video",
                    "--source_generator_handle={pretrained}/stgan_source_synthetic_actions",
                    "--condition_net={pretrained}/lrcn_synthetic_actions",
                    "--judge_net={pretrained}/c3d_synthetic_actions",
                    "--videos_per_class=8",
                    "--verbose=0",
                    "--export_dir={work}/exports",
                ),
            ),
            module="{work}/exports/stgan/1",
            run_dir="{work}/video",
            reports={"activation_maximization": "{work}/video/am/summary.json"},
            images={
                "Activation maximization: the first of 8 videos of each class, classes in the LRCN's order": (
                    "{work}/video/videos/grid.gif"
                )
            },
            requires=("c3d_synthetic_actions", "lrcn_synthetic_actions"),
            notes=recipe_notes("stgan_synthetic_actions"),
        ),
    )
}


def _fill(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _run(argv: Sequence[str], log_path: str) -> None:
    """``python -m <argv>`` with its output appended to ``log_path``; ``RuntimeError`` naming
    the command and the log on failure."""
    command = [sys.executable, "-m", *argv]
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command[1:])}\n")
        log.flush()
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
    if code:
        raise RuntimeError(f"`python -m {' '.join(argv)}` failed with exit status {code}; see {log_path}")


def _ship(
    name: str,
    summary: str,
    module: str,
    run_dir: str,
    out_dir: str,
    work: str,
    extra: Mapping[str, object],
    images: Optional[Mapping[str, str]] = None,
) -> Dict[str, object]:
    """Writes ``<out_dir>/<name>``: ``module`` with the card of ``run_dir`` plus ``extra``,
    ``images``, the run's loss curves and its last training sample grid."""
    from export import card

    images = dict(images or {})
    folder = os.path.join(work, "card_images", name)
    os.makedirs(folder, exist_ok=True)
    samples = sorted(glob.glob(os.path.join(run_dir, "samples", "step_*.gif")))
    if samples and not images:
        last = shutil.copyfile(samples[-1], os.path.join(folder, "training_samples.gif"))
        images[f"Samples of the last training step ({os.path.basename(samples[-1])[:-4]}, fixed latents)"] = last
    full = card.run_card(run_dir)
    steps = full["training"]["steps"] or float("inf")  # a run stopped past its last checkpoint logged more
    scalars = {
        tag: [(s, v) for s, v in points if s <= steps]
        for tag, points in card.read_scalars(os.path.join(run_dir, "logs"), "loss/").items()
    }
    if any(scalars.values()):
        images["Training losses"] = card.plot_curves(
            scalars,
            os.path.join(folder, "losses.png"),
            title=f"{name}: training losses (mean over each --log_every steps)",
        )
    full.update(name=name, summary=summary, path=f"pretrained/{name}", **extra)
    shipped = card.write_pretrained(module, os.path.join(out_dir, name), full, images)
    write_index(out_dir)
    print(f"[{name}] shipped {os.path.join(out_dir, name)} ({shipped['bytes'] / 1e6:.2f} MB)", flush=True)
    return shipped


def write_index(out_dir: str) -> str:
    """``<out_dir>/README.md``: every shipped module with its recipe, size, headline numbers
    and samples, from the cards (rewritten after every shipment)."""
    from export import card

    names = sorted(d for d in os.listdir(out_dir) if card.read_card(os.path.join(out_dir, d)))
    total = 0
    lines = [
        "# Pretrained modules",
        "",
        "Written by `python -m trainers.recipe` from the modules' cards; each folder is a SavedModel "
        "(`hub.load`, `python -m trainers.generate --model=pretrained/<name>`, TF Serving) with `card.md` "
        "and `card.json` (how it was made, its metrics, the SHA-256 of every file).",
        "",
        "| module | what | trained | headline numbers | size |",
        "|---|---|---|---|---|",
    ]
    samples = []
    for name in names:
        c = card.read_card(os.path.join(out_dir, name))
        total += c.get("bytes", 0)
        t = c.get("training", {})
        headline = []
        report = c.get("classifier_report")
        if report:
            headline.append(f"test accuracy {report['test_accuracy']:.3f}")
        generated = c.get("metrics", {}).get("generator", {}).get("metrics", {})
        real = c.get("metrics", {}).get("real", {}).get("metrics", {})
        report = c.get("activation_maximization", {})
        am = report.get("mean", {})
        if am:  # the networks by name: which conditions and which judges is the recipe's choice
            condition = os.path.basename(str(report.get("condition_net", "condition network")))
            judge = os.path.basename(str(report.get("judge_net", "judge")))
            headline.append(
                f"AM: p(class) by `{condition}` {am['initial']:.2f} -> {am['final']:.2f}"
                + (
                    f", by `{judge}` {am['judge_initial']:.2f} -> {am['judge_final']:.2f}"
                    if "judge_final" in am
                    else ""
                )
            )
        for metric in ("acc_c3d", "balls", "fvd_local_16f"):
            if metric in generated:
                floor = real.get(metric, {}).get("value")
                headline.append(
                    f"`{metric}` {generated[metric]['value']:.3g}"
                    + (f" (real {floor:.3g})" if isinstance(floor, (int, float)) else "")
                )
        lines.append(
            f"| [`{name}`]({name}/card.md) | {c.get('model')} on `{c.get('data', {}).get('dataset')}` | "
            f"{t.get('steps')} steps, {t.get('wall_seconds', 0) / 60:.0f} min | {'; '.join(headline) or '-'} | "
            f"{c.get('bytes', 0) / 1e6:.1f} MB |"
        )
        for caption, image in c.get("images", {}).items():
            if image.endswith(".png") and "losses" not in image:
                samples += [f"**{name}**: {caption.lower()}", "", f"![{name}]({name}/{image})", ""]
    lines += ["", f"In all: {total / 1e6:.1f} MB.", ""] + (["## Samples", ""] + samples if samples else [])
    path = os.path.join(out_dir, "README.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path


def find(name: str) -> Recipe:
    """Recipe ``name``, or a ``ValueError`` listing the recipes."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; expected one of {sorted(RECIPES)}")
    return RECIPES[name]


def revise_notes(name: str, out_dir: str = PRETRAINED_DIR) -> Dict[str, object]:
    """``--notes_only``: the shipped ``<out_dir>/<name>`` card gets recipe ``name``'s notes and
    summary (:func:`export.card.revise_notes`); the index is rewritten."""
    from export import card

    recipe = find(name)
    revised = card.revise_notes(os.path.join(out_dir, name), recipe.notes, recipe.summary)
    write_index(out_dir)
    print(f"[{name}] revised the notes of {os.path.join(out_dir, name)}", flush=True)
    return revised


def command_line(argv: Sequence[str]) -> str:
    return "python -m " + " ".join(argv)


def run(
    name: str,
    work_dir: Optional[str] = None,
    out_dir: str = PRETRAINED_DIR,
    train_flags: Sequence[str] = (),
    eval_flags: Sequence[str] = (),
) -> Dict[str, object]:
    """Runs recipe ``name`` (see the module docstring); returns the card it shipped.

    ``train_flags`` / ``eval_flags`` are appended to every training / evaluation command
    (tests shrink the recipe with them; the card records the commands as run)."""
    from export import card

    recipe = find(name)
    work = os.path.abspath(work_dir or os.path.join(WORK_DIR, name))
    values = {"work": work, "pretrained": out_dir}  # as given: cards name the networks as a user would
    os.makedirs(os.path.join(work, ".done"), exist_ok=True)
    log = os.path.join(work, "recipe.log")
    commands: List[str] = []
    for i, step in enumerate(recipe.train):
        done = os.path.join(work, ".done", str(i))
        if isinstance(step, Ship):
            commands.append(f"(ships {out_dir}/{step.name})")
            if not os.path.exists(done):
                _ship(
                    step.name,
                    step.summary,
                    _fill(step.module, values),
                    _fill(step.run_dir, values),
                    out_dir,
                    work,
                    {"recipe": f"python -m trainers.recipe {name}", "commands": {"train": list(commands)}},
                )
                open(done, "w").close()
            continue
        argv = [_fill(a, values) for a in step] + list(train_flags)
        commands.append(
            command_line([_fill(a, {"work": "<work>", "pretrained": out_dir}) for a in step] + list(train_flags))
        )
        if not os.path.exists(done):
            print(f"[{name}] {command_line(argv)}", flush=True)
            _run(argv, log)
            open(done, "w").close()
    module = _fill(recipe.module, values)
    values["module"] = module
    for needed in recipe.requires:  # checked after training: a recipe may train while its networks do
        path = os.path.join(out_dir, needed)
        if not os.path.isfile(os.path.join(path, card.CARD_JSON)):
            raise ValueError(
                f"recipe {name!r} measures with the shipped module {needed!r}, and {path!r} has none; "
                f"run `python -m trainers.recipe {needed}`, then this recipe again (it resumes)"
            )
    reports = {}
    evaluation_commands = {}
    for label, flags_ in recipe.evaluations.items():
        output = os.path.join(work, "eval", f"{label}.json")
        argv = ["trainers.evaluate"] + [_fill(a, values) for a in flags_] + list(eval_flags) + [f"--output={output}"]
        evaluation_commands[label] = command_line(
            ["trainers.evaluate"]
            + [_fill(a, {"module": f"pretrained/{name}", "pretrained": out_dir}) for a in flags_]
            + list(eval_flags)
        )
        if not os.path.exists(output):
            print(f"[{name}] {command_line(argv)}", flush=True)
            _run(argv, log)
        with open(output, encoding="utf-8") as f:
            reports[label] = json.load(f)
    images = {}
    for caption, gif in recipe.images.items():
        gif = _fill(gif, values)
        images[caption] = gif
        sheet, every = card.gif_sheet(gif, gif[:-4] + ".png")
        images[f"The same, frames 0, {every}, {2 * every}, ... side by side"] = sheet
    if recipe.generate:
        samples = os.path.join(work, "samples")
        signature = next(
            (f.split("=", 1)[1] for f in recipe.generate if f.startswith("--signature=")), "serving_default"
        )
        grid = os.path.join(samples, f"{signature}_grid.gif")
        if not os.path.exists(grid):
            _run(["trainers.generate", f"--model={module}", f"--out_dir={samples}"] + list(recipe.generate), log)
        shutil.copyfile(grid, os.path.join(samples, "samples.gif"))
        grid = os.path.join(samples, "samples.gif")
        images[
            "Samples (a 4x4 grid of generated videos, animated)"
            if signature == "serving_default"
            else f"Samples of the `{signature}` signature (a 4x4 grid, animated; each given frame first)"
        ] = grid
        sheet, every = card.gif_sheet(grid, os.path.join(samples, "samples.png"))
        images[f"The same samples, frames 0, {every}, {2 * every}, ... side by side"] = sheet
    extra = {
        "recipe": f"python -m trainers.recipe {name}",
        "commands": {"train": commands, "evaluate": evaluation_commands},
        "metrics": reports,
        "metric_sources": {k: SOURCES.get(k, k) for k in reports},
        "notes": list(recipe.notes),
    }
    for key, path in recipe.reports.items():
        with open(_fill(path, values), encoding="utf-8") as f:
            extra[key] = json.load(f)
    # The card's wall time is the training's (its run folder's sessions, however many
    # invocations it took); evaluations and shipping are not counted.
    return _ship(name, recipe.summary, module, _fill(recipe.run_dir, values), out_dir, work, extra, images)


def define_flags() -> None:
    flags.DEFINE_bool("list", False, "List the recipes and exit.")
    flags.DEFINE_string("work_dir", None, f"Work folder (default {WORK_DIR}/<name>): runs, exports, reports.")
    flags.DEFINE_string("out_dir", PRETRAINED_DIR, "Where the module goes (<out_dir>/<name>/).")
    flags.DEFINE_bool(
        "notes_only",
        False,
        "Train and measure nothing: rewrite the shipped module's card "
        "(<out_dir>/<name>/card.json and card.md) with the recipe's current notes and summary, "
        "e.g. after a diagnosis found since it was trained.",
    )


def main(argv: List[str]) -> None:
    if FLAGS.list:
        for recipe in RECIPES.values():
            print(f"{recipe.name}: {recipe.summary}")
        return
    if len(argv) != 2:
        raise common.usage_error(f"expected one recipe name ({', '.join(sorted(RECIPES))}); got {argv[1:]}")
    if FLAGS.notes_only:
        common.exit_on_error(lambda: revise_notes(argv[1], FLAGS.out_dir))
        return
    common.exit_on_error(lambda: run(argv[1], FLAGS.work_dir, FLAGS.out_dir), failure=(RuntimeError,))


if __name__ == "__main__":
    define_flags()
    common.run_cli(main)
