"""Model cards: how a module was made and how well it does, as JSON and as Markdown.

Every export the zoo writes carries its run's card as ``assets/model_card.json`` and in
``metadata()["card_json"]`` (:func:`run_card`, :func:`export_parts`): the model and its config, the data set, steps,
batch, wall time and
machine of every training session, the source commit and the zoo's version. A shipped
module, ``pretrained/<name>/`` (:func:`write_pretrained`), is a serving SavedModel
(``hub.load`` and ``trainers.generate`` read it as any export) plus

    card.json   the run card, the recipe command, the metrics (trainers.evaluate reports,
                with the networks they used), the images, and the SHA-256 and size of
                every file of the module
    card.md     the same for people, with the sample grid and the loss curves
    *.gif/*.png samples and curves

:func:`verify_files` (``zoo.pretrained``, which finds and loads shipped modules; re-exported
here) checks a module against its ``card.json`` (``export.hub.load`` and ``zoo.pretrained.load``
do it for every local module that has one), so a truncated or missing file fails with an
error that names the module and the file instead of a deep TensorFlow error.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import tensorflow as tf

from export import runs
from zoo.pretrained import CARD_JSON, CARD_MD, file_digests, read_card, sha256, verify_files  # noqa: F401

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ provenance
def zoo_version() -> str:
    """``zoo.__version__``: the code that runs, also from a checkout on PYTHONPATH that pip
    did not install (the installed distribution's metadata may be older)."""
    import zoo

    return zoo.__version__


def source_commit() -> Dict[str, Any]:
    """``{"sha", "dirty"}`` of the checkout the zoo runs from (None where it is not a git
    checkout, e.g. an installed wheel). ``dirty``: tracked files differ from the commit,
    ``pretrained/`` aside (the recipes write the shipped modules there while they run)."""

    def git(*args):
        return subprocess.run(["git", "-C", _REPO_ROOT, *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode:
            return {"sha": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)pretrained")
        return {"sha": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def run_card(run_dir: str) -> Dict[str, Any]:
    """The card of a run folder: what ``assets/model_card.json`` holds in its exports."""
    saved = runs.read_config(run_dir)
    model, run, trainer = saved.get("model", {}), saved.get("run", {}), dict(saved.get("trainer", {}))
    progress = runs.read_progress(run_dir)
    sessions = progress.get("sessions", [])  # each with its machine, steps, seconds and commit
    data = {
        "dataset": trainer.get("dataset"),
        "data_dir": trainer.get("data_dir"),
        "frames": model.get("frames"),
        "size": model.get("size"),
        "channels": model.get("channels"),
    }
    card = {
        "model": model.get("model"),
        "config": model,
        "data": data,
        "training": {
            "steps": progress.get("step"),
            "batch_size": run.get("batch_size"),
            "run_settings": run,
            "wall_seconds": round(sum(s.get("seconds", 0.0) for s in sessions), 1),
            "sessions": sessions,
            "machines": _unique([s.get("machine") for s in sessions if s.get("machine")]),
            "trainer_flags": trainer,
        },
        "commit": sessions[-1]["commit"] if sessions else source_commit(),
        "zoo_version": zoo_version(),
    }
    report = os.path.join(run_dir, runs.REPORT_FILE)
    if tf.io.gfile.exists(report):  # a classifier's held-out accuracy
        with tf.io.gfile.GFile(report) as f:
            card["classifier_report"] = json.load(f)
    return card


def export_parts(run_dir: str) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """What every export of a run carries: ``(card, extra_files)``: the run card (the
    exporters' ``card=``, kept as ``assets/<export.saved_model.CARD_ASSET>``) and, for a classifier run, its test report
    (``export.hub.CLASSIFIER_REPORT``) as an extra file."""
    from export import hub

    card = run_card(run_dir)
    files = {}
    if "classifier_report" in card:
        files[hub.CLASSIFIER_REPORT] = json.dumps(card["classifier_report"], indent=2, sort_keys=True)
    return card, files


def _unique(items: Sequence[Any]) -> List[Any]:
    out: List[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# ------------------------------------------------------------------ curves
def read_scalars(log_dir: str, prefix: str = "") -> Dict[str, List[Tuple[int, float]]]:
    """Every scalar summary under ``log_dir`` whose tag starts with ``prefix``:
    ``{tag: [(step, value), ...]}`` sorted by step (the last value of a repeated step wins)."""
    from tensorflow.core.util import event_pb2

    values: Dict[str, Dict[int, float]] = {}
    for path in sorted(tf.io.gfile.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for v in event.summary.value:
                if not v.tag.startswith(prefix):
                    continue
                value = float(tf.make_ndarray(v.tensor)) if v.HasField("tensor") else float(v.simple_value)
                values.setdefault(v.tag, {})[int(event.step)] = value
    return {tag: sorted(points.items()) for tag, points in values.items()}


_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def plot_curves(
    scalars: Mapping[str, Sequence[Tuple[int, float]]],
    path: str,
    title: str = "",
    width: int = 720,
    height: int = 300,
    smooth: int = 10,
) -> str:
    """A PNG of ``{tag: [(step, value)]}``, one panel per tag (moving mean over ``smooth``
    points drawn over the raw curve), drawn with pillow alone."""
    from PIL import Image, ImageDraw

    tags = [t for t in scalars if scalars[t]]
    if not tags:
        raise ValueError(f"no scalars to plot for {path!r}")
    panel_h, margin = height, 48
    image = Image.new("RGB", (width, panel_h * len(tags) + (24 if title else 0)), "white")
    draw = ImageDraw.Draw(image)
    top = 0
    if title:
        draw.text((8, 6), title, fill="black")
        top = 24
    for i, tag in enumerate(tags):
        points = scalars[tag]
        steps = [p[0] for p in points]
        ys = [p[1] for p in points]
        smooth_ys = [
            sum(ys[max(0, j - smooth + 1) : j + 1]) / len(ys[max(0, j - smooth + 1) : j + 1]) for j in range(len(ys))
        ]
        x0, x1 = margin + 10, width - 10
        y0, y1 = top + i * panel_h + 20, top + (i + 1) * panel_h - 24
        lo, hi = min(ys), max(ys)
        if hi - lo < 1e-12:
            lo, hi = lo - 1.0, hi + 1.0
        s_lo, s_hi = min(steps), max(max(steps), min(steps) + 1)

        def xy(step, value):
            return (x0 + (x1 - x0) * (step - s_lo) / (s_hi - s_lo), y1 - (y1 - y0) * (value - lo) / (hi - lo))

        draw.rectangle([x0, y0, x1, y1], outline=(160, 160, 160))
        colour = _COLOURS[i % len(_COLOURS)]
        faint = tuple(int(c + (255 - c) * 0.7) for c in colour)
        if len(points) > 1:
            draw.line([xy(s, v) for s, v in zip(steps, ys)], fill=faint, width=1)
            draw.line([xy(s, v) for s, v in zip(steps, smooth_ys)], fill=colour, width=2)
        draw.text(
            (x0, y0 - 16), f"{tag}  (last {ys[-1]:.4g}, mean of last {smooth}: {smooth_ys[-1]:.4g})", fill="black"
        )
        draw.text((2, y0), f"{hi:.3g}", fill="black")
        draw.text((2, y1 - 10), f"{lo:.3g}", fill="black")
        draw.text((x0, y1 + 4), f"step {s_lo}", fill="black")
        draw.text((x1 - 80, y1 + 4), f"step {max(steps)}", fill="black")
    tf.io.gfile.makedirs(os.path.dirname(path) or ".")
    image.save(path)
    return path


def gif_sheet(gif_path: str, png_path: str, max_frames: int = 8, gap: int = 4) -> Tuple[str, int]:
    """At most ``max_frames`` evenly spaced frames of an animated GIF side by side in one PNG
    (a still for a README or a card; time runs left to right). Returns (path, the frame step)."""
    from PIL import Image, ImageSequence

    with Image.open(gif_path) as gif:
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(gif)]
    every = max(1, -(-len(frames) // max_frames))
    frames = frames[::every]
    w, h = frames[0].size
    sheet = Image.new("RGB", (len(frames) * (w + gap) - gap, h), (255, 0, 0))
    for i, frame in enumerate(frames):
        sheet.paste(frame, (i * (w + gap), 0))
    sheet.save(png_path)
    return png_path, every


# ------------------------------------------------------------------ Markdown
def _shown(result: Mapping[str, Any], num_samples: Optional[int] = None) -> str:
    """A metric's value, with ``± std`` where the std is a spread: not where the subsets it was
    measured over each held every one of the ``num_samples`` clips (KID of a report written
    before it said so with ``std: None``: identical subsets, a std of float rounding)."""
    value = result.get("value")
    if not isinstance(value, (int, float)):
        return json.dumps(value)
    text = f"{value:.4g}"
    whole = num_samples is not None and result.get("subset_size", 0) >= num_samples
    if isinstance(result.get("std"), (int, float)) and not whole:
        text += f" ± {result['std']:.2g}"
    return text


#: The order of the measured sources in a card (others follow in their own order), so a card
#: reads the same whether its JSON was just measured or read back (``sort_keys``).
SOURCE_ORDER = ("generator", "untrained", "shuffled", "real")


def _ordered(sources) -> List[str]:
    sources = list(sources)
    return [s for s in SOURCE_ORDER if s in sources] + [s for s in sources if s not in SOURCE_ORDER]


def _metric_table(metrics: Mapping[str, Any]) -> List[str]:
    """One row per metric, one column per source, of {source: trainers.evaluate report}."""
    sources = _ordered(metrics)
    names = sorted({n for report in metrics.values() for n in report.get("metrics", {})})
    lines = ["| metric | " + " | ".join(sources) + " | networks |", "|---" * (len(sources) + 2) + "|"]
    for name in names:
        cells, networks = [], {}
        for source in sources:
            result = metrics[source].get("metrics", {}).get(name)
            cells.append(_shown(result, metrics[source].get("num_samples")) if result else "-")
            for role, info in (result or {}).get("networks", {}).items():
                networks[role] = info.get("handle", info.get("arch", ""))
        nets = ", ".join(f"{role}: `{handle}`" for role, handle in networks.items()) or "-"
        lines.append(f"| `{name}` | " + " | ".join(cells) + f" | {nets} |")
    return lines


def _floor_gaps(metrics: Mapping[str, Any]) -> List[str]:
    """Sentences "metric: the module's value, the real floor's, the gap, and the untrained and
    shuffled values" for the numeric metrics measured on both the generator and real clips."""
    generated = metrics.get("generator", {}).get("metrics", {})
    real = metrics.get("real", {}).get("metrics", {})
    lines = []
    for name, result in sorted(generated.items()):
        value, floor = result.get("value"), real.get(name, {}).get("value")
        if not isinstance(value, (int, float)) or not isinstance(floor, (int, float)):
            continue
        others = ", ".join(
            f"{source} {metrics[source]['metrics'][name]['value']:.4g}"
            for source in ("untrained", "shuffled")
            if isinstance(metrics.get(source, {}).get("metrics", {}).get(name, {}).get("value"), (int, float))
        )
        better = "higher" if result.get("higher_is_better") else "lower"
        lines.append(
            f"- `{name}` ({better} is better): {value:.4g}, real floor {floor:.4g}, gap "
            f"{value - floor:+.4g}" + (f" ({others})" if others else "")
        )
    return lines + [""] if lines else []


def _am_section(am: Optional[Mapping[str, Any]]) -> List[str]:
    """STGAN's activation maximization (trainers.stgan's ``am/summary.json``) as a table per class."""
    if not am:
        return []
    judged = "judge_initial" in am.get("mean", {})
    head = "| class | condition network: p(class) before AM | after |"
    head += " judge: p(class) before | after | judge: top-1 before | after |" if judged else ""
    lines = [
        "## Activation maximization",
        "",
        f"Condition network `{am.get('condition_net')}`"
        + (f"; the same videos judged by `{am.get('judge_net')}` (an independent classifier)" if judged else "")
        + ". Probabilities of the target class, mean over the videos of each class.",
        "",
        head,
        "|---" * (head.count("|") - 1) + "|",
    ]
    keys = ("initial", "final") + (
        ("judge_initial", "judge_final", "judge_accuracy_initial", "judge_accuracy_final") if judged else ()
    )
    for name, row in list(am.get("classes", {}).items()) + [("**mean**", am.get("mean", {}))]:
        lines.append(f"| {name} | " + " | ".join(f"{row.get(k, float('nan')):.3f}" for k in keys) + " |")
    return lines + [""]


def _precision_lines(sessions: Sequence[Mapping[str, Any]]) -> List[str]:
    """``- Precision: ...``: what each stretch of training (``progress.json``) computed in and
    why (``zoo.precision``; nothing for runs made before it was recorded)."""
    seen = _unique(
        [(p.get("precision"), p.get("asked"), p.get("reason")) for p in (s.get("precision") for s in sessions) if p]
    )
    if not seen:
        return []
    return ["- Precision: " + "; ".join(f"{p} (asked: {asked}; {reason})" for p, asked, reason in seen)]


def card_markdown(card: Mapping[str, Any]) -> str:
    t = card.get("training", {})
    machines = (
        "; ".join(
            f"{m.get('cpu')} ({m.get('cores')} cores"
            f"{', ' + ', '.join(m.get('vector_extensions', [])) if m.get('vector_extensions') else ''}"
            f"{', GPUs: ' + ', '.join(m['gpus']) if m.get('gpus') else ''}), TensorFlow {m.get('tensorflow')}"
            for m in t.get("machines", [])
        )
        or "unknown"
    )
    commit = card.get("commit", {})
    lines = [
        f"# {card.get('name', card.get('model'))}",
        "",
        card.get("summary", ""),
        "",
        "## How it was made",
        "",
        f"- Recipe: `{card['recipe']}`" if card.get("recipe") else "- Recipe: none recorded",
        f"- Model: `{card.get('model')}` (config in `card.json`, and in the module's `assets/zoo_config.json`)",
        f"- Data: `{card.get('data', {}).get('dataset')}`, {card.get('data', {}).get('frames')} frames"
        + (f" of {card['data']['size']}x{card['data']['size']}" if card.get("data", {}).get("size") else "")
        + f", {card.get('data', {}).get('channels')} channel(s)",
        f"- Training: {t.get('steps')} steps of batch {t.get('batch_size')}, "
        f"{t.get('wall_seconds', 0) / 60:.1f} min of wall time (as the trainer measured it: steps, samples and "
        f"checkpoints; other processes may have shared the machine) on {machines}",
        *_precision_lines(t.get("sessions", [])),
        f"- Commit: `{commit.get('sha')}`{' (with uncommitted changes)' if commit.get('dirty') else ''}, "
        f"zoo {card.get('zoo_version')}",
        f"- Size: {card.get('bytes', 0) / 1e6:.2f} MB in {len(card.get('files', {}))} files "
        "(SHA-256 of each in `card.json`)",
        "",
    ]
    images = card.get("images", {})
    if images:
        lines += ["## Samples and curves", ""]
        for caption, rel in images.items():
            lines += [f"{caption}:", "", f"![{caption}]({rel})", ""]
    if card.get("metrics"):
        lines += [
            "## Metrics",
            "",
            "Measured with `python -m trainers.evaluate`; the commands are in `card.json` "
            "(`commands.evaluate`), the full reports under `metrics`.",
            "",
        ]
        lines += _metric_table(card["metrics"]) + [""]
        lines += _floor_gaps(card["metrics"])
        doc = card.get("metric_sources", {})
        lines += [f"- {source}: {doc[source]}" for source in _ordered(doc)] + [""]
    report = card.get("classifier_report")
    if report:
        lines += [
            "## Accuracy",
            "",
            f"Test accuracy **{report['test_accuracy']:.4f}** (cross-entropy {report['test_cross_entropy']:.4f}) "
            f"on {report['test_examples']} held-out clips of `{report['dataset']}/{report['split']}`, "
            f"{len(report.get('class_names', []))} classes "
            f"(chance {1 / max(1, len(report.get('class_names', [1]))):.2f}).",
            "",
        ]
    lines += _am_section(card.get("activation_maximization"))
    for revision in card.get("files_revised", []):
        lines += [
            f"Files revised {revision.get('date')} at commit `{(revision.get('commit') or {}).get('sha')}` "
            f"({', '.join(f'`{f}`' for f in sorted(revision.get('files', {})))}): {revision.get('reason')}",
            "",
        ]
    if card.get("notes"):
        revised = card.get("notes_revised")
        lines += ["## Notes", ""]
        if revised:
            lines += [
                f"Revised {revised.get('date')} at commit `{(revised.get('commit') or {}).get('sha')}`, after "
                "the module was trained: the notes say what is now known of it; the module, its metrics and "
                "the rest of this card are as shipped.",
                "",
            ]
        lines += [f"- {n}" for n in card["notes"]] + [""]
    name = card.get("name") or card.get("path")  # shipped modules are found by name from any folder
    if report:
        use = f"python -m trainers.evaluate --generator=EXPORT --{card.get('model')}={name} --metrics=..."
    else:
        use = f"python -m trainers.generate --model={name} --out_dir=videos"
    lines += [
        "## Use",
        "",
        "```sh",
        use,
        "```",
        "",
        "```python",
        "import tensorflow_hub as hub, zoo.pretrained",
        f'module = zoo.pretrained.load("{name}")  # checked against this card\'s SHA-256',
        f'module = hub.load(zoo.pretrained.path("{name}"))  # the same SavedModel, unchecked',
        "```",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ shipping
def revise_notes(folder: str, notes: Sequence[str], summary: Optional[str] = None) -> Dict[str, Any]:
    """Rewrites a shipped module's notes (and summary) in ``card.json`` and ``card.md`` without
    touching the module: a diagnosis found after training belongs on the card users read.

    The module is checked first (:func:`verify_files`), so a damaged one is not re-described;
    ``notes_revised`` records the date and commit. Each file is written beside itself and
    renamed into place. Returns the new card."""
    card = read_card(folder)
    if card is None:
        raise ValueError(f"{folder!r} has no {CARD_JSON}; expected a shipped module (pretrained/<name>)")
    verify_files(folder)
    card["notes"] = list(notes)
    if summary is not None:
        card["summary"] = summary
    card["notes_revised"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "commit": source_commit(),
    }
    _write_card(folder, card)
    return card


def _write_card(folder: str, card: Mapping[str, Any]) -> None:
    """``card.json`` and ``card.md`` of ``card`` in ``folder``, each written beside itself and
    renamed into place."""
    for name, text in ((CARD_JSON, json.dumps(card, indent=1, sort_keys=True) + "\n"), (CARD_MD, card_markdown(card))):
        path = os.path.join(folder, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


def write_pretrained(
    module_dir: str, out_dir: str, card: Mapping[str, Any], images: Optional[Mapping[str, str]] = None
) -> Dict[str, Any]:
    """Writes a shipped module: ``module_dir`` (a SavedModel folder) copied to ``out_dir``
    with ``images`` ({caption: local file}, copied beside it), ``card.json`` (``card`` plus
    the images, every file's SHA-256 and the total size) and ``card.md``.

    Written into a sibling temporary folder and renamed into place, so an interrupted call
    leaves the previous module (or none), never half of one. Returns the full card."""
    if not tf.saved_model.contains_saved_model(module_dir):
        raise ValueError(f"{module_dir!r} is not a SavedModel; expected an export version folder")
    out_dir = os.path.abspath(out_dir)
    tmp = _fresh_copy(module_dir, out_dir)
    full = dict(card)
    full["images"] = {}
    for caption, source in (images or {}).items():
        name = os.path.basename(source)
        shutil.copyfile(source, os.path.join(tmp, name))
        full["images"][caption] = name
    full["files"] = file_digests(tmp)
    full["bytes"] = sum(f["bytes"] for f in full["files"].values())
    full.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    _write_card(tmp, full)
    _replace(tmp, out_dir)
    return full


def _fresh_copy(source: str, out_dir: str) -> str:
    """``source`` copied to ``<out_dir>.tmp`` (an old one removed first); returns that path."""
    tmp = out_dir + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    shutil.copytree(source, tmp)
    return tmp


def _replace(tmp: str, out_dir: str) -> None:
    """Renames ``tmp`` to ``out_dir``, moving an existing ``out_dir`` aside first and removing it after."""
    old = out_dir + ".old"
    if os.path.exists(out_dir):
        if os.path.exists(old):
            shutil.rmtree(old)
        os.rename(out_dir, old)
    os.rename(tmp, out_dir)
    if os.path.exists(old):
        shutil.rmtree(old)


def revise_files(folder: str, rewrite, reason: str) -> Dict[str, Any]:
    """Rewrites files of a shipped module that change how it was saved, not what it computes,
    and says so on its card.

    The module is checked first (:func:`verify_files`); ``rewrite(copy)`` changes files of a copy
    and returns their relative paths (none: nothing is written). The card gets their new SHA-256
    and size and a ``files_revised`` entry (date, commit, ``reason``, each file's old and new
    SHA-256); the copy then replaces the module (as :func:`write_pretrained`). Returns the card."""
    card = read_card(folder)
    if card is None:
        raise ValueError(f"{folder!r} has no {CARD_JSON}; expected a shipped module (pretrained/<name>)")
    verify_files(folder)
    folder = os.path.abspath(folder)
    tmp = _fresh_copy(folder, folder)
    changed = sorted(rewrite(tmp))
    if not changed:
        shutil.rmtree(tmp)
        return card
    digests = file_digests(tmp)
    card.setdefault("files_revised", []).append(
        {
            "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
            "commit": source_commit(),
            "reason": reason,
            "files": {
                rel: {"old_sha256": card["files"][rel]["sha256"], "sha256": digests[rel]["sha256"]} for rel in changed
            },
        }
    )
    card["files"] = digests
    card["bytes"] = sum(f["bytes"] for f in digests.values())
    _write_card(tmp, card)
    _replace(tmp, folder)
    return card
