"""Write videos from any zoo generator export: ``python -m trainers.generate --model=EXPORT --out_dir=DIR``.

Runs one signature of a serving export (``<export_dir>/<name>/<version>`` or a hub
handle) on latents it draws, and writes each video (``--format=gif`` or ``mp4``)
and a grid of all of them (``grid.gif``):

- ``--signature``: ``serving_default`` (default), or what the model serves besides,
  e.g. TGAN's ``interpolate`` (more frames per latent, section 4.1) and
  ``long_video`` (16 N frames, section 4.2); ``--list`` prints them.
- Each input is drawn as the role the export declares for it says (``zoo.contract.ROLES``,
  in the export's ``signatures_json``; an export of zoo 0.2.0 or older, which declares
  none, by its input names: ``z``, ``z_a``, ``z_b``, ``alpha``, ``label``, ``image``).
- Latent inputs (role ``latent``) are drawn from the model's latent distribution,
  ``--num_videos`` rows, a pure function of ``--seed``. A sequence of latents
  (role ``latent_walk``, TGAN's ``long_video``) is a Gaussian random walk
  z^{n+1} ~ N(z^n, sigma^2 I) (TGAN eq. 3) with ``--walk_sigma`` (default: the
  step its signature declares, ``walk_sigma`` in the export's ``signatures_json``; an
  export written before signatures declared it: its config's ``long_sigma``); STGAN's code per frame (role
  ``latent_per_frame``) is
  an independent draw per frame. A ``class`` input takes ``--label`` (default: video
  i gets class i % num_classes).
- Interpolations (a signature with an ``alpha`` input, MVT's ``class_interpolation``
  and ``intra_class_interpolation``, section 6.4): the ``--num_videos`` videos are one
  path, alpha = 0 .. 1 in equal steps. ``z`` is one draw shared by all of them,
  ``z_a`` / ``z_b`` two draws; ``label`` is ``--label`` (default 0), ``label_a`` /
  ``label_b`` are ``--label`` / ``--label_b`` (default 0 and 1).
- An ``image`` input (VGAN's ``future`` signature, section 3.4) takes the first frames of
  held-out clips: ``--images=<data set>`` (its test split; ``--data_dir`` for a video
  folder), e.g. ``--signature=future --images=bouncing_balls``, or your own pictures:
  ``--image=PATH`` (repeatable; PNG, JPEG, GIF or BMP), each cut to its central square,
  resized to the model's frame size and converted to its channels, one video per picture (the
  signature has no latent: a picture has one future). The written grid puts the given frame
  before each generated future.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
from absl import flags

import export
from trainers import common

# TensorFlow and zoo are imported where they are used, so that --help and a bad flag answer at
# once (under a second; importing TensorFlow takes 7-12 s here, see trainers.common). ``export``
# imports its modules on first use.

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The CLI's flags (defined by ``__main__`` only: importing the module defines none)."""
    flags.DEFINE_string(
        "model",
        None,
        "A serving export of a zoo generator: a path, a hub handle, or the name of a "
        "shipped module (e.g. vgan_bouncing_balls; zoo.pretrained), found from any folder.",
    )
    flags.DEFINE_string("signature", "serving_default", "The signature to run.")
    flags.DEFINE_string("out_dir", None, "Where the videos go (created).")
    flags.DEFINE_integer("num_videos", 4, "Videos to write.")
    flags.DEFINE_integer("seed", 0, "Seed of the latents.")
    flags.DEFINE_enum("format", "gif", ["gif", "mp4"], "Video file format.")
    flags.DEFINE_float("fps", 8, "Frames per second of the files.")
    flags.DEFINE_float(
        "walk_sigma",
        None,
        "Sigma of the random walk for latent sequences (default: the step the signature "
        "declares, walk_sigma; an older export's config long_sigma).",
    )
    flags.DEFINE_integer("label", None, "Class label for conditional models (default: i % num_classes).")
    flags.DEFINE_integer("label_b", None, "The second class of a class interpolation (default 1).")
    flags.DEFINE_string(
        "images",
        None,
        "For an 'image' input (VGAN's future signature): the data set whose "
        "test clips' first frames condition the videos, e.g. bouncing_balls.",
    )
    flags.DEFINE_multi_string(
        "image",
        [],
        "For an 'image' input: a picture file (PNG, JPEG, GIF, BMP) whose future to make; repeat for "
        "more (one video each). Cut to its central square and resized to the model's frames.",
    )
    flags.DEFINE_string("data_dir", None, "The folder of --images=video_folder.")
    flags.DEFINE_bool("list", False, "Print the signatures and their inputs, and exit.")


def held_out_images(dataset: str, num: int, size: int, channels: int, seed: int, data_dir=None):
    """The first frames of ``num`` test clips of ``dataset``: float32 [num, size, size, channels]."""
    from zoo import data

    clips = data.load(dataset, split="test", frames=1, size=size, data_dir=data_dir, seed=seed, channels=channels)
    frames = [e["video"][0] for e in clips.take(num).as_numpy_iterator()]
    if len(frames) < num:
        raise ValueError(f"--images={dataset}: {len(frames)} test clips, expected at least {num}")
    return np.stack(frames).astype(np.float32)


def picture_frames(paths, size: int, channels: int) -> np.ndarray:
    """Picture files as the frames an ``image`` input takes: float32 [len(paths), size, size,
    channels] in [-1, 1], each cut to its central square and resized (area averaging when
    shrinking); a missing or unreadable file is a ``ValueError`` naming it."""
    import tensorflow as tf

    frames = []
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"--image={path}: no such file")
        try:
            image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False).numpy()
        except (tf.errors.InvalidArgumentError, ValueError) as e:
            raise ValueError(f"--image={path}: expected a PNG, JPEG, GIF or BMP picture ({e})") from None
        if image.shape[-1] in (2, 4):  # drop alpha
            image = image[..., :-1]
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        image = image[top : top + side, left : left + side].astype(np.float32)
        image = tf.image.resize(image, [size, size], method="area" if side >= size else "bilinear").numpy()
        if image.shape[-1] != channels:
            image = image.mean(axis=-1, keepdims=True) if channels == 1 else np.repeat(image, channels, axis=-1)
        frames.append(np.clip(image / 127.5 - 1.0, -1.0, 1.0))
    return np.stack(frames).astype(np.float32)


def declared_signature(meta, signature_name: str) -> dict:
    """What the export's ``signatures_json`` says of a signature (inputs, roles, doc,
    walk_sigma); ``{}`` where it says nothing."""
    return json.loads(meta.get("signatures_json") or "{}").get(signature_name, {})


def signature_roles(meta, signature_name: str, specs, config) -> dict:
    """Each input's role (``zoo.contract.ROLES``) as the export declares it; an export written
    before roles were declared (zoo 0.2.0) gets the roles its input names meant then."""
    declared = declared_signature(meta, signature_name).get("roles")
    if declared:
        return dict(declared)
    path = "alpha" in specs  # an interpolation path
    roles = {}
    for name, spec in specs.items():
        rank = len(spec.shape)
        if name == "alpha":
            roles[name] = "path"
        elif path and name in ("z", "z_a", "z_b", "label", "label_a", "label_b"):
            roles[name] = {
                "z": "latent_a",
                "z_a": "latent_a",
                "z_b": "latent_b",
                "label": "class_a",
                "label_a": "class_a",
                "label_b": "class_b",
            }[name]
        elif name == "z" and rank == 2:
            roles[name] = "latent"
        elif name == "z" and rank == 3:  # STGAN's code per frame had no long_sigma
            roles[name] = "latent_walk" if "long_sigma" in config else "latent_per_frame"
        elif name in ("label", "image"):
            roles[name] = {"label": "class", "image": "image"}[name]
        else:
            raise ValueError(
                f"signature {signature_name!r} input {name!r} {spec.shape.as_list()}: the export "
                "declares no roles and the name is none the zoo knows (z, z_a, z_b, alpha, label, "
                "label_a, label_b, image)"
            )
    return roles


def declared_walk_sigma(meta, signature_name: str):
    """The random-walk step a signature declares for its ``latent_walk`` inputs (None: none)."""
    return declared_signature(meta, signature_name).get("walk_sigma")


def draw_inputs(
    signature, roles, meta, config, num: int, seed: int, walk_sigma=None, label=None, label_b=None, images=None
):
    """The named inputs of ``signature`` for ``num`` videos, each drawn as its role
    (``zoo.contract.ROLES``) says (see the module docstring); ``images``: float32
    [num, H, W, C] for an ``image`` input."""
    import tensorflow as tf
    from zoo.randomness import draw_latent

    specs = signature.structured_input_signature[1]
    classes = int(config.get("num_classes", 1))
    distribution = meta["latent_distribution"]
    ends = {"class_a": 0 if label is None else label, "class_b": (1 % classes) if label_b is None else label_b}
    inputs = {}
    for name, spec in specs.items():
        shape, role = spec.shape.as_list(), roles.get(name)
        if role == "path":
            inputs[name] = tf.constant(np.linspace(0.0, 1.0, num), spec.dtype)
        elif role in ("latent_a", "latent_b"):  # one draw shared by the whole path
            one = draw_latent(distribution, [1, shape[1]], [seed, int(role == "latent_b")])
            inputs[name] = tf.repeat(one, num, axis=0)
        elif role in ends:
            if not 0 <= ends[role] < classes:
                raise ValueError(f"--label / --label_b must be in 0..{classes - 1}, got {ends[role]}")
            inputs[name] = tf.fill([num], tf.constant(ends[role], spec.dtype))
        elif role == "latent":
            inputs[name] = draw_latent(distribution, [num, shape[1]], [seed, 0])
        elif role in ("latent_walk", "latent_per_frame"):
            if shape[1] is None:
                raise ValueError(f"signature input {name} {shape}: expected a fixed number of segments")
            if role == "latent_per_frame":  # a code per frame drawn independently (STGAN, section 5.1)
                inputs[name] = draw_latent(distribution, [num, shape[1], shape[2]], [seed, 0])
                continue
            sigma = walk_sigma if walk_sigma is not None else config.get("long_sigma")
            if sigma is None:
                raise ValueError(
                    f"signature input {name} {shape} is a random walk: pass --walk_sigma (the "
                    "export declares no walk_sigma and its config has no long_sigma)"
                )
            start = draw_latent(distribution, [num, 1, shape[2]], [seed, 0])
            steps = tf.random.stateless_normal([num, shape[1] - 1, shape[2]], seed=[seed, 1]) * float(sigma)
            inputs[name] = tf.cumsum(tf.concat([start, steps], axis=1), axis=1)
        elif role == "class":
            if label is not None and not 0 <= label < classes:
                raise ValueError(f"--label must be in 0..{classes - 1}, got {label}")
            values = np.full([num], label) if label is not None else np.arange(num) % classes
            inputs[name] = tf.constant(values, spec.dtype)
        elif role == "image":
            if images is None:
                raise ValueError(
                    f"signature input {name!r} {shape}: pass --image=PICTURE (repeatable) or "
                    "--images=<data set> (the first frames of its test clips condition the videos)"
                )
            inputs[name] = tf.constant(images, spec.dtype)
        else:
            raise ValueError(
                f"signature input {name!r} {shape} has role {role!r}: don't know how to draw it; "
                "expected latent, latent_walk, latent_per_frame, class, image, path, latent_a, "
                "latent_b, class_a or class_b"
            )
    return inputs


def generate(
    model: str,
    out_dir: str,
    signature_name: str = "serving_default",
    num_videos: int = 4,
    seed: int = 0,
    fmt: str = "gif",
    fps: float = 8,
    walk_sigma=None,
    label=None,
    label_b=None,
    images: str = None,
    data_dir: str = None,
    pictures=(),
):
    """Writes the videos; returns their paths (the grid last). ``pictures``: files for an
    ``image`` input (one video each), instead of ``images``' held-out frames."""
    from zoo import data

    loaded, meta, config = export.hub.load_generator(model)
    if signature_name not in loaded.signatures:
        raise ValueError(f"{model!r} has no signature {signature_name!r}; expected one of {sorted(loaded.signatures)}")
    if num_videos < 1:
        raise ValueError(f"--num_videos must be >= 1, got {num_videos}")
    signature = loaded.signatures[signature_name]
    given = None
    if pictures and images is not None:
        raise ValueError("give --image files or --images=<data set>, not both")
    if pictures:
        given = picture_frames(pictures, int(config["size"]), int(config.get("channels", 3)))
        num_videos = len(given)
    elif images is not None:
        given = held_out_images(images, num_videos, int(config["size"]), int(config.get("channels", 3)), seed, data_dir)
    roles = signature_roles(meta, signature_name, signature.structured_input_signature[1], config)
    if walk_sigma is None:
        walk_sigma = declared_walk_sigma(meta, signature_name)
    inputs = draw_inputs(signature, roles, meta, config, num_videos, seed, walk_sigma, label, label_b, given)
    outputs = export.run_signature(loaded, inputs, signature_name)
    if "video" in outputs:
        videos = outputs["video"].numpy()
    elif "image" in outputs:  # step one of a two-step model: one-frame videos
        videos = outputs["image"].numpy()[:, None]
    else:
        raise ValueError(
            f"signature {signature_name!r} of {model!r} serves {sorted(outputs)}, no 'video' or 'image' to write"
        )
    if given is not None:  # the conditioning frame first, then its future
        videos = np.concatenate([data.to_uint8(given[:, None]), videos], axis=1)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i, video in enumerate(videos):
        path = os.path.join(out_dir, f"{signature_name}_{i:03d}.{fmt}")
        data.write_video(path, video, fps=fps)
        paths.append(path)
    grid = os.path.join(out_dir, f"{signature_name}_grid.gif")
    data.write_gif(grid, data.video_grid(videos), fps=fps)
    return paths + [grid]


def main(argv):
    if len(argv) > 1:
        raise common.usage_error(f"unexpected arguments: {argv[1:]}")
    try:
        if not FLAGS.model:
            raise ValueError("--model is required: a generator export (path, hub handle or shipped module name)")
        if FLAGS.list:
            loaded = export.load(FLAGS.model)
            for name, fn in sorted(loaded.signatures.items()):
                specs = {k: f"{v.dtype.name} {v.shape.as_list()}" for k, v in fn.structured_input_signature[1].items()}
                print(f"{name}: {specs}")
            return
        if not FLAGS.out_dir:
            raise ValueError("--out_dir is required")
        paths = generate(
            FLAGS.model,
            FLAGS.out_dir,
            FLAGS.signature,
            FLAGS.num_videos,
            FLAGS.seed,
            FLAGS.format,
            FLAGS.fps,
            FLAGS.walk_sigma,
            FLAGS.label,
            FLAGS.label_b,
            FLAGS.images,
            FLAGS.data_dir,
            FLAGS.image,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    for path in paths:
        print(path)


if __name__ == "__main__":
    define_flags()
    common.run_cli(main)
