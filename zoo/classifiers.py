"""Video classifiers: the zoo's feature networks for metrics, probes and STGAN's condition net.

The papers measure generators with networks that cannot be downloaded here
(C3D trained on Sports-1M/UCF-101 for the Inception Score of TGAN and MVT; I3D
for FVD), so the zoo trains its own on data it makes (``synthetic_actions``) or
on a UCF-101-layout folder, exports them as Hub modules and measures with them.

- :class:`C3D`: Tran et al., "Learning Spatiotemporal Features with 3D
  Convolutional Networks", ICCV 2015. 3x3x3 convolutions, stride 1; max pooling
  1x2x2 after the first stage (keep early temporal information) and 2x2x2 after
  the others; two fully connected layers (fc6, fc7: 4096) then the classes.
  The ``paper`` preset is C3D itself (16x112x112, 64-128-256-256-512-512-512-512
  in five stages, no batch norm); ``small`` / ``tiny`` add batch norm, which
  lets them train from scratch in minutes.
- :class:`LRCN`: Donahue et al., "Long-term Recurrent Convolutional Networks for
  Visual Recognition and Description", CVPR 2015: a 2D CNN on every frame, an
  LSTM over the frame features, a linear layer on every step, and the video's
  prediction is the average over time steps. The ``paper`` preset uses one
  256-unit LSTM as that paper's best activity-recognition model (its CNN is
  CaffeNet; ours is a VGG-style stack).

Both return ``{"logits": [B, K], "features": [B, F]}`` where ``features`` is the
penultimate layer (C3D: fc7 after ReLU; LRCN: the LSTM outputs averaged over
time, so ``logits = dense(features)`` exactly as the averaged per-step logits);
LRCN also returns ``frame_features`` ``[B, T, F']`` (the per-frame CNN
features), which the ``fid_frames`` metric uses. Inputs are float32 videos
``[B, T, H, W, C]`` in [-1, 1] of the config's fixed shape.

Training is a custom ``train_step`` (cross-entropy over the global batch,
synchronized batch norm), so :mod:`trainers.common` runs it under every
strategy, checkpoints and resumes it like the GANs.
"""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar, Dict, Iterable, Tuple

import keras
import numpy as np
import tensorflow as tf

from zoo import config as config_lib
from zoo import contract
from zoo.layers import batch_norm

#: ``metadata()["interface"]``-style name of the classifier outputs contract.
OUTPUTS = ("logits", "features")


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(config_lib.VideoConfig):
    """Fields shared by every video classifier (``model_name`` picks the architecture)."""

    model_name: ClassVar[str] = "classifier"
    #: Fields that take one of a few values (their flags are enums): none here.
    choices: ClassVar[Dict[str, Tuple[str, ...]]] = {}
    at_least_one: ClassVar[Tuple[str, ...]] = ("size", "width", "stages", "feature_dim")
    size: int = 64  # H = W of the input clips
    num_classes: int = 10  # classes of the data set (the trainers take it from the data)
    class_names: Tuple[str, ...] = ()  # label names (from the dataset), len == num_classes when given
    width: int = 16  # filters of the first stage (doubling, capped at 8x)
    stages: int = 4  # convolution stages, each ending in max pooling
    convs_per_stage: Tuple[int, ...] = (1, 1, 2, 2)  # 3D convolutions in each stage (C3D: 1, 1, 2, 2, 2)
    feature_dim: int = 256  # width of the penultimate layer(s)
    batch_norm: bool = True  # batch norm after every convolution
    dropout: float = 0.5  # dropout rate before the classifier layer, in [0, 1)
    learning_rate: float = 1e-3  # Adam
    weight_decay: float = 0.0  # decoupled (AdamW) when > 0

    def filters(self, stage: int) -> int:
        return self.width * 2 ** min(stage, 3)

    def validate(self) -> None:
        name = type(self).__name__

        def bad(msg):
            raise ValueError(f"{name}: {msg}")

        super().validate()
        if self.num_classes < 2:
            bad(f"num_classes must be >= 2, got {self.num_classes}")
        if self.class_names and len(self.class_names) != self.num_classes:
            bad(f"class_names has {len(self.class_names)} names, expected num_classes={self.num_classes}")
        if len(self.convs_per_stage) != self.stages or min(self.convs_per_stage) < 1:
            bad(f"convs_per_stage must list {self.stages} positive counts (one per stage), got {self.convs_per_stage}")
        if not 0.0 <= self.dropout < 1.0:
            bad(f"dropout must be in [0, 1), got {self.dropout}")


@dataclasses.dataclass(frozen=True)
class C3DConfig(ClassifierConfig):
    model_name: ClassVar[str] = "c3d"


@dataclasses.dataclass(frozen=True)
class LRCNConfig(ClassifierConfig):
    model_name: ClassVar[str] = "lrcn"
    at_least_one: ClassVar[Tuple[str, ...]] = ("lstm_units",)
    lstm_units: int = 128  # units of the LSTM over the per-frame CNN features


C3D_PRESETS = {
    # Tran et al. 2015, section 3 / Figure 3: 16x112x112 clips, conv1a 64, conv2a 128,
    # conv3a-b 256, conv4a-b 512, conv5a-b 512 (our width doubling is capped at 8x:
    # 64-128-256-512-512), fc6 = fc7 = 4096, dropout 0.5, no batch norm.
    "paper": dict(
        frames=16,
        size=112,
        width=64,
        stages=5,
        convs_per_stage=(1, 1, 2, 2, 2),
        feature_dim=4096,
        batch_norm=False,
        batch_size=30,
        learning_rate=3e-4,
        num_classes=101,
    ),
    # Minutes on two CPU cores (the default feature network of the benchmarks). The
    # built-in data sets are unlimited, so no dropout (it slowed learning ~3x here).
    "small": dict(
        frames=16, size=32, width=16, stages=3, convs_per_stage=(1, 1, 2), feature_dim=128, dropout=0.0, batch_size=32
    ),
    # Unit tests: learns synthetic_actions (8x16x16) to ~60% in 250 steps (~20 s).
    "tiny": dict(
        frames=8, size=16, width=8, stages=3, convs_per_stage=(1, 1, 1), feature_dim=64, dropout=0.0, batch_size=16
    ),
}
LRCN_PRESETS = {
    # Donahue et al. 2015, section 4: one 256-unit LSTM over per-frame CNN features
    # (their CNN: CaffeNet fc6; ours: a VGG-style stack at 112x112), 16-frame clips.
    "paper": dict(
        frames=16,
        size=112,
        width=64,
        stages=5,
        convs_per_stage=(1, 1, 2, 2, 2),
        feature_dim=4096,
        lstm_units=256,
        batch_norm=False,
        batch_size=30,
        learning_rate=3e-4,
        num_classes=101,
    ),
    "small": dict(
        frames=16,
        size=32,
        width=16,
        stages=3,
        convs_per_stage=(1, 1, 2),
        feature_dim=128,
        lstm_units=128,
        dropout=0.0,
        batch_size=32,
    ),
    "tiny": dict(
        frames=8,
        size=16,
        width=8,
        stages=3,
        convs_per_stage=(1, 1, 1),
        feature_dim=64,
        lstm_units=32,
        dropout=0.0,
        batch_size=16,
    ),
}


def _conv_stack(cfg: ClassifierConfig, rank: int, prefix: str):
    """The convolution stages: [conv (BN) ReLU] * n, then max pooling ("same": C3D pads
    pool5 so that 112 -> 56 -> 28 -> 14 -> 7 -> 4)."""
    conv = keras.layers.Conv3D if rank == 3 else keras.layers.Conv2D
    layers, frames = [], cfg.frames
    for s in range(cfg.stages):
        for c in range(cfg.convs_per_stage[s]):
            tag = f"{prefix}conv{s + 1}{'abcdefgh'[c]}"
            layers.append(conv(cfg.filters(s), 3, padding="same", use_bias=not cfg.batch_norm, name=tag))
            if cfg.batch_norm:
                layers.append(batch_norm(name=f"{tag}_bn"))
            layers.append(keras.layers.ReLU(name=f"{tag}_relu"))
        if rank == 3:
            # C3D: pool1 is 1x2x2 "not to merge the temporal signal too early", the
            # later ones 2x2x2, but never below one frame.
            depth = 1 if s == 0 else min(2, frames)
            frames //= depth
            layers.append(keras.layers.MaxPooling3D((depth, 2, 2), padding="same", name=f"{prefix}pool{s + 1}"))
        else:
            layers.append(keras.layers.MaxPooling2D(2, padding="same", name=f"{prefix}pool{s + 1}"))
    return layers


def _apply(layers, h, training):
    for layer in layers:
        h = layer(h, training=training)
    return h


class Classifier(contract.ExportableModel, keras.Model):
    """Base of the zoo's video classifiers: custom supervised ``train_step``, trackers,
    ``signatures()`` for the export layer (video -> logits, probabilities, features)."""

    def __init__(self, config: ClassifierConfig, **kwargs):
        kwargs.setdefault("name", config.model_name)
        super().__init__(**kwargs)
        self.config = config
        self.trackers = {"loss": keras.metrics.Mean(name="loss"), "accuracy": keras.metrics.Mean(name="accuracy")}

    @property
    def input_spec_shape(self) -> Tuple[int, int, int, int]:
        c = self.config
        return (c.frames, c.size, c.size, c.channels)

    def build_all(self) -> "Classifier":
        self(tf.zeros((1,) + self.input_spec_shape), training=False)
        return self

    # ------------------------------------------------------------------ training
    def compile(self, optimizer=None, **kwargs):
        cfg = self.config
        if optimizer is None:
            optimizer = (
                keras.optimizers.AdamW(cfg.learning_rate, weight_decay=cfg.weight_decay)
                if cfg.weight_decay > 0
                else keras.optimizers.Adam(cfg.learning_rate)
            )
        self.build_all()  # the weights whose slots compile builds
        super().compile(optimizer=optimizer, **kwargs)  # zoo.contract.Trainable's: no XLA, the slots

    def optimized_variables(self):
        return ((self.optimizer, self.trainable_variables),)

    @staticmethod
    def _unpack(data):
        if isinstance(data, dict):
            return data["video"], data["label"]
        return data[0], data[1]

    def _per_example(self, video, label, training):
        out = self(tf.cast(video, tf.float32), training=training)
        label = tf.cast(label, tf.int32)
        xent = keras.losses.sparse_categorical_crossentropy(label, out["logits"], from_logits=True)
        correct = tf.cast(tf.equal(tf.argmax(out["logits"], -1, output_type=tf.int32), label), tf.float32)
        return xent, correct

    @tf.autograph.experimental.do_not_convert
    def train_step(self, data):
        video, label = self._unpack(data)
        with tf.GradientTape() as tape:
            xent, correct = self._per_example(video, label, True)
            ctx = tf.distribute.get_replica_context()
            replicas = ctx.num_replicas_in_sync if ctx is not None else 1
            loss = tf.reduce_sum(xent) / tf.cast(tf.shape(xent)[0] * replicas, tf.float32)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.trackers["loss"].update_state(tf.reduce_mean(xent))
        self.trackers["accuracy"].update_state(tf.reduce_mean(correct))
        return {k: t.result() for k, t in self.trackers.items()}

    @tf.autograph.experimental.do_not_convert
    def test_step(self, data):
        video, label = self._unpack(data)
        xent, correct = self._per_example(video, label, False)
        self.trackers["loss"].update_state(tf.reduce_mean(xent))
        self.trackers["accuracy"].update_state(tf.reduce_mean(correct))
        return {k: t.result() for k, t in self.trackers.items()}

    # ------------------------------------------------------------------- serving
    def call_inputs(self) -> Dict[str, tf.TensorSpec]:
        """``model(video)``: float32 [batch, T, H, W, C] in [-1, 1]."""
        return {"video": tf.TensorSpec((None,) + self.input_spec_shape, tf.float32, name="video")}

    def signatures(self) -> Dict[str, contract.Signature]:
        spec = self.call_inputs()["video"]

        def serve(video):
            out = {k: tf.cast(v, tf.float32) for k, v in self(video, training=False).items()}
            out["probabilities"] = tf.nn.softmax(out["logits"])
            return out

        return {
            "serving_default": contract.Signature(
                fn=serve,
                inputs={"video": spec},
                roles={"video": "video"},
                doc="video float32 [batch, T, H, W, C] in [-1, 1] -> logits [batch, K], probabilities, "
                "features [batch, F] (penultimate layer)"
                + (", frame_features [batch, T, F']" if isinstance(self, LRCN) else ""),
            )
        }

    def export_metadata(self) -> Dict[str, object]:
        """What a loader needs to use the export as a feature network (see export.load_video_classifier)."""
        c = self.config
        return {
            "classifier_arch": c.model_name,
            "num_classes": int(c.num_classes),
            "class_names_json": json.dumps(list(c.class_names)),
            "input_shape": [int(d) for d in self.input_spec_shape],
            "outputs_json": json.dumps(sorted(self.output_names_)),
        }

    @property
    def output_names_(self) -> Tuple[str, ...]:
        return OUTPUTS + ("probabilities",)


class C3D(Classifier):
    """C3D-style 3D CNN (Tran et al. 2015), see the module docstring."""

    def __init__(self, config: C3DConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.blocks = _conv_stack(config, 3, "")
        self.flatten = keras.layers.Flatten(name="flatten")
        self.fc6 = keras.layers.Dense(config.feature_dim, activation="relu", name="fc6")
        self.drop6 = keras.layers.Dropout(config.dropout, name="drop6")
        self.fc7 = keras.layers.Dense(config.feature_dim, activation="relu", name="fc7")
        self.drop7 = keras.layers.Dropout(config.dropout, name="drop7")
        self.logits = keras.layers.Dense(config.num_classes, name="logits", dtype="float32")

    def call(self, video, training=False):
        h = _apply(self.blocks, video, training)
        h = self.drop6(self.fc6(self.flatten(h)), training=training)
        features = self.fc7(h)
        return {"logits": self.logits(self.drop7(features, training=training)), "features": features}


class LRCN(Classifier):
    """LRCN-style network (Donahue et al. 2015): per-frame 2D CNN, LSTM, per-step logits averaged."""

    def __init__(self, config: LRCNConfig, **kwargs):
        super().__init__(config, **kwargs)
        self.frame_blocks = _conv_stack(config, 2, "frame_")
        self.frame_flatten = keras.layers.Flatten(name="frame_flatten")
        self.frame_fc = keras.layers.Dense(config.feature_dim, activation="relu", name="frame_fc")
        self.frame_drop = keras.layers.Dropout(config.dropout, name="frame_drop")
        self.lstm = keras.layers.LSTM(config.lstm_units, return_sequences=True, name="lstm")
        self.drop = keras.layers.Dropout(config.dropout, name="lstm_drop")
        self.logits = keras.layers.Dense(config.num_classes, name="logits", dtype="float32")

    @property
    def output_names_(self):
        return OUTPUTS + ("probabilities", "frame_features")

    def frame_features(self, video, training=False):
        """The per-frame CNN features ``[B, T, feature_dim]`` (fed to the LSTM)."""
        shape = tf.shape(video)
        c = self.config
        frames = tf.reshape(video, [-1, c.size, c.size, c.channels])  # the frames as one batch
        h = _apply(self.frame_blocks, frames, training)
        h = self.frame_fc(self.frame_flatten(h))
        return tf.reshape(h, [shape[0], c.frames, c.feature_dim])

    def call(self, video, training=False):
        frames = self.frame_features(video, training=training)
        states = self.lstm(self.frame_drop(frames, training=training), training=training)
        # LRCN averages the per-step predictions; the logits are linear in the states,
        # so that equals one linear layer on the time-averaged states (our features).
        features = tf.reduce_mean(states, axis=1)
        return {
            "logits": self.logits(self.drop(features, training=training)),
            "features": features,
            "frame_features": frames,
        }


ARCHITECTURES = ("c3d", "lrcn")


def build(config: ClassifierConfig) -> Classifier:
    model = {"c3d": C3D, "lrcn": LRCN}[config.model_name](config)
    return model.build_all()


# ------------------------------------------------------------------ fitting and scoring
def batched(dataset: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def accuracy(model: Classifier, dataset: tf.data.Dataset, batch_size: int = 32) -> Dict[str, float]:
    """Top-1 accuracy and mean cross-entropy of ``model`` on a finite unbatched dataset of
    ``{"video", "label"}`` (all of it, ``batch_size`` clips at a time)."""
    correct, total, xent_sum = 0, 0, 0.0

    @tf.function
    @tf.autograph.experimental.do_not_convert
    def predict(video):
        return model(video, training=False)["logits"]

    for batch in batched(dataset, batch_size):
        logits = predict(batch["video"]).numpy()
        labels = batch["label"].numpy()
        if labels.min() < 0:
            raise ValueError("accuracy needs labelled clips; got label -1 (an unlabelled data set)")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        xent_sum += float(-log_probs[np.arange(len(labels)), labels].sum())
        correct += int((logits.argmax(axis=1) == labels).sum())
        total += len(labels)
    if total == 0:
        raise ValueError("accuracy: the dataset is empty")
    return {"accuracy": correct / total, "cross_entropy": xent_sum / total, "examples": total}


def fit(
    config: ClassifierConfig, dataset: tf.data.Dataset, steps: int, batch_size: int, callbacks: Iterable = ()
) -> Classifier:
    """Trains a fresh classifier of ``config`` for ``steps`` batches of ``batch_size`` clips (e.g.
    ``zoo.resolve_run(name, preset).batch_size``) of an (infinite or long enough) unbatched
    labelled dataset; the seed of the config fixes the initial weights. Used by the S3 metric
    and tests; the CLI is ``python -m trainers.classifier``."""
    keras.utils.set_random_seed(config.seed)
    model = build(config)
    model.compile()
    step = tf.function(model.train_step)
    count = 0
    for batch in batched(dataset, batch_size).take(steps):
        step(batch)
        count += 1
    if count < steps:
        raise ValueError(f"fit: the dataset ran out after {count} of {steps} batches")
    return model


ENTRIES = (
    config_lib.ModelEntry(
        "c3d", C3DConfig, C3D_PRESETS, build, doc="C3D-style 3D CNN video classifier (Tran et al. 2015)"
    ),
    config_lib.ModelEntry(
        "lrcn", LRCNConfig, LRCN_PRESETS, build, doc="LRCN-style CNN+LSTM video classifier (Donahue et al. 2015)"
    ),
)
