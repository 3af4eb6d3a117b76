"""The networks the metrics read: :class:`FeatureNetwork` (a classifier, I3D or a
discriminator's features, with its preprocessing) and the standard I3D handle."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from zoo.data import video_io

# ---------------------------------------------------------------------------- feature networks
#: The standard FVD network (Unterthiner et al. 2018, the reference
#: ``frechet_video_distance.py``): I3D trained on Kinetics-400, a TF1 Hub module
#: whose ``default`` signature maps ``[B, T, 224, 224, 3]`` in [-1, 1] to 400 logits.
I3D_HANDLE = "https://tfhub.dev/deepmind/i3d-kinetics-400/1"
I3D_SIZE = 224


@dataclasses.dataclass
class FeatureNetwork:
    """A network the metrics read: ``fn(video) -> {output name: tensor}``.

    ``fn`` takes float32 videos ``[B, frames, size, size, channels]`` in [-1, 1];
    :meth:`prepare` brings any clip there (first ``frames`` frames, bilinear
    resize of every frame, gray <-> RGB). ``resize``: ``"bilinear"`` (TF2's
    ``tf.image.resize``, half-pixel centres) or ``"tf1_bilinear"`` (TF1's
    ``resize_bilinear`` without half-pixel centres, what the reference FVD code
    feeds I3D with). ``info`` is the provenance a report
    records (handle, architecture, classes, its own test accuracy).
    Where it comes from (a Hub handle, a path, a model in memory) is the caller's
    business: ``export.load_video_classifier`` and ``export.load_i3d`` make them
    from handles.
    """

    name: str
    fn: Callable[[tf.Tensor], Mapping[str, tf.Tensor]]
    size: int
    frames: Optional[int] = None
    channels: int = 3
    outputs: Tuple[str, ...] = ("logits", "features")
    info: Dict[str, Any] = dataclasses.field(default_factory=dict)
    batch_size: int = 16
    resize: str = "bilinear"

    def prepare(self, video) -> tf.Tensor:
        video = tf.convert_to_tensor(video)
        video = video_io.to_float(video) if video.dtype == tf.uint8 else tf.cast(video, tf.float32)
        if video.shape.rank != 5:
            raise ValueError(
                f"{self.name}: expected videos [batch, frames, height, width, channels], got shape {video.shape}"
            )
        t, h, w, c = video.shape[1:]
        if self.frames is not None:
            if t < self.frames:
                raise ValueError(f"{self.name} takes {self.frames}-frame clips; got {t}-frame videos")
            video = video[:, : self.frames]
            t = self.frames
        if (h, w) != (self.size, self.size):
            frames = tf.reshape(video, [-1, h, w, c])
            if self.resize == "tf1_bilinear":
                frames = tf.compat.v1.image.resize_bilinear(
                    frames, [self.size, self.size], align_corners=False, half_pixel_centers=False
                )
            elif self.resize == "bilinear":
                frames = tf.image.resize(frames, [self.size, self.size], method="bilinear")
            else:
                raise ValueError(f"{self.name}: resize {self.resize!r}; expected 'bilinear' or 'tf1_bilinear'")
            video = tf.reshape(frames, [-1, t, self.size, self.size, c])
        if c != self.channels:
            video = video_io.match_channels(video, self.channels)  # gray -> RGB, RGB -> luminance
        return video

    def __call__(self, videos: np.ndarray, outputs: Sequence[str] = ()) -> Dict[str, np.ndarray]:
        """``outputs`` (default: all) of the network on ``videos`` (numpy, uint8 or float in [-1, 1]),
        in batches of ``batch_size``; float64 numpy arrays."""
        wanted = tuple(outputs) or self.outputs
        missing = [o for o in wanted if o not in self.outputs]
        if missing:
            raise ValueError(f"{self.name} has no output(s) {missing}; it gives {list(self.outputs)}")
        parts: Dict[str, list] = {o: [] for o in wanted}
        for i in range(0, len(videos), self.batch_size):
            out = self.fn(self.prepare(videos[i : i + self.batch_size]))
            for o in wanted:
                parts[o].append(np.asarray(out[o], np.float64))
        return {o: np.concatenate(v) for o, v in parts.items()}


def model_network(model, name: Optional[str] = None, info: Optional[Dict[str, Any]] = None) -> FeatureNetwork:
    """A zoo classifier in memory (``zoo.classifiers``) as a :class:`FeatureNetwork`."""
    c = model.config

    @tf.function
    @tf.autograph.experimental.do_not_convert
    def call(video):
        return model(video, training=False)

    outputs = tuple(o for o in model.output_names_ if o != "probabilities")
    return FeatureNetwork(
        name=name or c.model_name,
        fn=call,
        size=c.size,
        frames=c.frames,
        channels=c.channels,
        outputs=outputs,
        info=dict(info or {"arch": c.model_name, "in_memory": True}),
    )
