"""STGAN (Ainetter & Pinz 2019) in two stages: ``python -m trainers.stgan --stage=image|video``.

``--stage=image``: trains STGAN's 2D source, the generator of Table 1's shape in 2D
(``zoo.stgan.image_generator_2d``), adversarially on frames of the data set (default
``synthetic_actions``); ``--hub_dir`` exports it as an image-generator hub module that
carries its Keras architecture.

``--stage=video``: inflates a 2D source (``--source_generator_handle``: that module, or
any image-generator module of a Sequential generator) to the 3D generator of section 4
and runs activation maximization (section 4.1) with a video classifier as the condition
network (``--condition_net``: a classifier export of ``trainers.classifier``) for the
classes ``--classes`` (names or indices; default all). The networks' roles are the paper's
by default: the LRCN conditions (section 4.2: the condition network of its main experiments;
here the shipped ``lrcn_synthetic_actions``) and the C3D judges the same videos (section 5.2
measures with C3D; here ``c3d_synthetic_actions``); ``--condition_net=c3d_synthetic_actions
--judge_net=lrcn_synthetic_actions`` is the reverse, one network on both sides Table 2's
"fooling" row. The condition network sees the centre of every frame at its input size and
AM's videos are that crop (``--condition_input=crop``, section 4.2). Per class it writes
``<run_dir>/videos/<class>/am_NNN.gif`` (``--videos_per_class`` videos), the codes z*
and the class probability of every iteration in ``<run_dir>/am/<class>.npz``, the
probabilities to TensorBoard (``am/<class>``) and a summary line; a rerun skips the
classes already done. ``--export_dir`` / ``--hub_dir`` export the 3D generator
(``serving_default``: a code per frame -> video). Flags: the common ones and one per
field of ``zoo.stgan.STGANConfig`` (``--temporal_depth``...) and of its run settings
``zoo.stgan.STGANRunConfig`` (``--am_iterations``, ``--am_batch_size``...).
"""

from __future__ import annotations

import io
import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
from absl import flags

import export
from trainers import common
from zoo import data as data_lib
from zoo import files, pretrained, randomness
from zoo import stgan as stgan_lib

FLAGS = flags.FLAGS
AM_DIR = "am"
VIDEO_DIR = "videos"
#: The networks AM ran with, written into ``<run_dir>/am/`` before the first class.
NETWORKS_FILE = "networks.json"
#: The paper's roles (section 4.2, section 5.2): the condition network of its main experiments
#: is an LRCN, its videos are measured with a C3D. The shipped classifiers stand in for them.
CONDITION_NET = "lrcn_synthetic_actions"
JUDGE_NET = "c3d_synthetic_actions"


def define_flags() -> None:
    flags.DEFINE_string(
        "condition_net",
        None,
        "Stage video: the condition network Phi, a video classifier export "
        "(hub module or serving version of trainers.classifier, or a shipped module's name). "
        f"Default: {CONDITION_NET}, as the paper's main experiments condition on an LRCN "
        f"(section 4.2); --condition_net={JUDGE_NET} --judge_net={CONDITION_NET} is the reverse.",
    )
    flags.DEFINE_string(
        "judge_net",
        None,
        "Stage video: an independent video classifier export (e.g. the other "
        "architecture than --condition_net, same classes) that scores the same videos before and "
        "after AM, so that the gain is not only the condition network's. Default: "
        f"{JUDGE_NET} (section 5.2 measures with a C3D) when --condition_net is left at its "
        "default, none otherwise; empty for none.",
    )
    flags.DEFINE_list("classes", [], "Stage video: the classes to generate (names or indices; default all).")
    flags.DEFINE_integer("videos_per_class", 4, "Stage video: videos generated per class.")
    flags.DEFINE_enum("format", "gif", ["gif", "mp4"], "Stage video: file format of the videos.")
    common.define_flags("stgan", default_dataset="synthetic_actions")


def resolve_classes(requested: Sequence[str], class_names: Sequence[str]) -> List[int]:
    """Class names or indices (strings) -> indices of the condition network's classes; all when empty."""
    names = list(class_names)
    if not requested:
        return list(range(len(names)))
    out = []
    for item in requested:
        item = str(item).strip()
        if item in names:
            out.append(names.index(item))
        elif item.lstrip("-").isdigit() and 0 <= int(item) < len(names):
            out.append(int(item))
        else:
            raise ValueError(
                f"--classes: {item!r} is neither a class of the condition network nor an index in "
                f"0..{len(names) - 1}; its classes are {names}"
            )
    return out


def _logits(network, video):
    """A classifier export's class logits for videos (resized and cut to its input first)."""
    return network.fn(network.prepare(video))["logits"]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


class STGANTrainer(common.Trainer):
    """Stage image: the shared training loop. Stage video: inflation and AM, no training."""

    def __init__(
        self,
        preset,
        overrides,
        options: common.RunOptions,
        condition_net: Optional[str] = None,
        classes: Sequence[str] = (),
        videos_per_class: int = 4,
        fmt: str = "gif",
        judge_net: Optional[str] = None,
        **kwargs,
    ):
        """``condition_net=None`` (stage video): the shipped LRCN (:data:`CONDITION_NET`), and then
        ``judge_net=None`` the shipped C3D (:data:`JUDGE_NET`), the paper's roles; a given
        ``condition_net`` has no judge unless ``judge_net`` names one; ``judge_net=""``: none."""
        super().__init__("stgan", preset, overrides, options, **kwargs)
        if self.cfg.stage == "video":
            if judge_net is None and condition_net is None:
                judge_net = JUDGE_NET
            condition_net = CONDITION_NET if condition_net is None else condition_net
        self.condition_net, self.classes, self.judge_net = condition_net, list(classes), judge_net or None
        self.videos_per_class, self.fmt = int(videos_per_class), fmt
        if self.cfg.stage == "video":
            if not self.cfg.source_generator_handle:
                raise ValueError(
                    "--stage=video needs --source_generator_handle: the 2D generator to inflate (an "
                    "image-generator hub module, e.g. --hub_dir of --stage=image)"
                )
            if not condition_net:
                raise ValueError(
                    "--stage=video needs --condition_net: a video classifier export "
                    "(python -m trainers.classifier --export_dir/--hub_dir)"
                )
            if self.videos_per_class < 1:
                raise ValueError(f"--videos_per_class must be >= 1, got {videos_per_class}")
        elif condition_net or self.classes or judge_net:
            raise ValueError("--condition_net / --classes / --judge_net belong to --stage=video; got --stage=image")

    def run(self):
        if self.cfg.stage == "image":
            return super().run()
        try:
            self.setup()
            network = export.load_video_classifier(self.condition_net)
            targets = resolve_classes(self.classes, network.info["class_names"])
            judge = export.load_video_classifier(self.judge_net) if self.judge_net else None
            if judge is not None and list(judge.info["class_names"]) != list(network.info["class_names"]):
                raise ValueError(
                    f"--judge_net {self.judge_net!r} has the classes {judge.info['class_names']}; "
                    f"expected those of --condition_net: {network.info['class_names']} "
                    "(--judge_net= for none)"
                )
            for flag, net in (("--condition_net", network), ("--judge_net", judge)):
                if net is not None and net.frames is not None and net.frames > self.cfg.frames:
                    raise ValueError(
                        f"{flag} {net.info.get('handle')!r} takes {net.frames}-frame clips; the generator "
                        f"makes {self.cfg.frames} (--frames): expected a classifier of at most that many frames"
                    )
        except common.SetupError:
            raise
        except ValueError as e:
            raise common.SetupError(str(e)) from e
        if self.folder.latest_checkpoint is None:
            self.save(0)  # the inflated weights: `python -m export --run_dir` rebuilds from them
        self.summary = self.maximize(network, targets, judge)
        return self.export()

    def maximize(self, network, targets: Sequence[int], judge=None) -> Dict[str, Dict[str, float]]:
        """AM for every class of ``targets``; returns {class: {initial, final probability}}, plus
        with ``judge`` (another classifier) its probability of the class and its top-1 accuracy
        on the same videos before and after AM (``judge_initial``, ``judge_final``,
        ``judge_accuracy_initial``, ``judge_accuracy_final``)."""
        cfg, names, mode = self.cfg, network.info["class_names"], self.run_cfg.condition_input
        # Phi sees the centre of every frame at its input size (section 4.2), and so do the judge
        # (resized to its own input, as section 5.2 resizes to C3D's) and the written videos.
        condition = stgan_lib.condition_logits(network, mode)
        view = lambda video: stgan_lib.condition_view(video, network.size, mode).numpy()  # noqa: E731
        am_dir = os.path.join(self.opts.run_dir, AM_DIR)
        tf.io.gfile.makedirs(am_dir)
        check_networks(
            am_dir, {"condition_net": self.condition_net, "judge_net": self.judge_net, "condition_input": mode}
        )
        summary, first_codes = {}, []
        for h in targets:
            name = names[h]
            path = os.path.join(am_dir, f"{_safe(name)}.npz")
            if tf.io.gfile.exists(path):
                with tf.io.gfile.GFile(path, "rb") as f:
                    saved = np.load(io.BytesIO(f.read()))
                    probability, codes = saved["probability"], saved["z"]
                    judged = {k: saved[k] for k in saved.files if k.startswith("judge_")}
                print(f"class {name}: done before ({path}), skipped")
            else:
                parts = []
                am = self.run_cfg  # the AM settings (zoo.stgan.STGANRunConfig)
                for start in range(0, self.videos_per_class, am.am_batch_size):
                    n = min(am.am_batch_size, self.videos_per_class - start)
                    parts.append(
                        self.model.maximize(condition, h, n, am, seed=randomness.fold_in(cfg.seed, h * 100003 + start))
                    )
                result = {
                    k: np.concatenate([p[k] for p in parts], axis=1 if k == "probability" else 0) for k in parts[0]
                }
                probability, codes = result["probability"], result["z"]
                judged = {}
                if judge is not None:
                    for when in ("initial", "final"):
                        video = view(result["initial_video" if when == "initial" else "video"])
                        p = tf.nn.softmax(_logits(judge, tf.convert_to_tensor(video))).numpy()
                        judged[f"judge_{when}"] = p[:, h]
                        judged[f"judge_accuracy_{when}"] = (np.argmax(p, axis=-1) == h).astype(np.float32)
                video_dir = os.path.join(self.opts.run_dir, VIDEO_DIR, _safe(name))
                tf.io.gfile.makedirs(video_dir)
                videos = data_lib.to_uint8(view(result["video"]))
                for i, video in enumerate(videos):
                    data_lib.write_video(os.path.join(video_dir, f"am_{i:03d}.{self.fmt}"), video, fps=8)
                with self.writer.as_default():
                    for i, p in enumerate(probability.mean(axis=1)):
                        tf.summary.scalar(f"am/{name}", float(p), step=i)
                self.writer.flush()
                buffer = io.BytesIO()
                np.savez(
                    buffer,
                    z=result["z"],
                    probability=probability,
                    logits=result["logits"],
                    target=np.int32(h),
                    **judged,
                )
                files.write_atomically(path, buffer.getvalue())  # written last: a class is done or absent
            first_codes.append(codes[:1])
            summary[name] = {
                "initial": float(probability[0].mean()),
                "final": float(probability[-1].mean()),
                **{k: float(np.mean(v)) for k, v in judged.items()},
            }
            print(
                f"class {name}: probability {summary[name]['initial']:.4f} -> {summary[name]['final']:.4f} "
                f"after {len(probability) - 1} iterations ({probability.shape[1]} videos)"
                + (
                    f"; judge {summary[name]['judge_initial']:.4f} -> {summary[name]['judge_final']:.4f}"
                    if judged
                    else ""
                )
            )
        if first_codes:  # the first video of every class, one tile each, in the order of targets
            first = data_lib.to_uint8(view(self.model.call(tf.constant(np.concatenate(first_codes)), training=False)))
            data_lib.write_video(
                os.path.join(self.opts.run_dir, VIDEO_DIR, f"grid.{self.fmt}"),
                data_lib.video_grid(np.asarray(first)),
                fps=8,
            )
        means = (
            {k: float(np.mean([c[k] for c in summary.values()])) for k in next(iter(summary.values()))}
            if summary
            else {}
        )
        with tf.io.gfile.GFile(os.path.join(am_dir, "summary.json"), "w") as f:
            json.dump(
                {
                    "condition_net": self.condition_net,
                    "judge_net": self.judge_net,
                    "condition_input": mode,
                    "mean": means,
                    "classes": summary,
                },
                f,
                indent=2,
            )
        return summary


def _same_network(saved, requested) -> bool:
    """Whether two handles name the same classifier export (a shipped module's name and its
    folder are the same; a handle found nowhere is compared as written)."""
    if not saved or not requested:
        return (saved or None) == (requested or None)

    def where(handle):
        try:
            found = pretrained.path(handle)
        except ValueError:
            return handle
        return found if "://" in found else os.path.abspath(found)

    return where(saved) == where(requested)


def check_networks(am_dir: str, networks: Dict[str, Optional[str]]) -> None:
    """Records ``networks`` (condition network, judge, condition input) in ``am_dir`` before AM
    writes a class there; ``ValueError`` when the folder holds AM made with others (its classes
    would be skipped as done). A folder written before the record existed is checked against its
    ``summary.json``, which named both networks."""
    record = os.path.join(am_dir, NETWORKS_FILE)
    summary = os.path.join(am_dir, "summary.json")
    saved = None
    for path in (record, summary):
        if tf.io.gfile.exists(path):
            with tf.io.gfile.GFile(path) as f:
                saved = json.load(f)
            break
    if saved is None:
        files.write_atomically(record, json.dumps(networks, indent=2).encode())
        return
    differ = {
        k: (saved[k], v)
        for k, v in networks.items()
        if k in saved and not (_same_network(saved[k], v) if k.endswith("_net") else saved[k] == v)
    }
    if differ:
        raise ValueError(
            f"{am_dir!r} holds activation maximization made with other networks; differing (saved, "
            f"requested): {differ}. Use a new --run_dir, or the same flags to resume."
        )


def make_trainer(options: common.RunOptions) -> STGANTrainer:
    return STGANTrainer(
        FLAGS.preset,
        common.config_overrides("stgan"),
        options,
        condition_net=FLAGS.condition_net,
        classes=FLAGS.classes,
        videos_per_class=FLAGS.videos_per_class,
        fmt=FLAGS.format,
        judge_net=FLAGS.judge_net,
    )


if __name__ == "__main__":
    define_flags()
    common.main("stgan", make_trainer=make_trainer)
