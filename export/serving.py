"""What TF Serving needs beside the SavedModel: the ``models.config`` of a base folder,
warmup requests, example REST bodies and REST-friendly (encoded) outputs.

Layout of a serving base folder (``export.export_saved_model``)::

    <base_dir>/models.config                           every model folder, as the server sees it
    <base_dir>/<name>/<version>/assets.extra/
        tf_serving_warmup_requests                     one PredictionLog per signature (batch 1)
        rest/<signature>.json                          a ``:predict`` body for that signature

- **models.config** names each model's ``base_path`` where the *server* finds it:
  ``<serving_root>/<name>``, ``serving_root`` defaulting to ``/models``, the
  ``tensorflow/serving`` container's mount point (``docker-compose.yml``). Serving
  from the host itself needs ``--serving_root=$PWD/exports``. Every entry is
  checked against the layout before the file is written (:func:`check_models_config`),
  so a config naming a folder without versions, or a pinned version that does not
  exist, is refused, never written.
- **Warmup**: TF Serving replays ``assets.extra/tf_serving_warmup_requests`` (a
  TFRecord of ``PredictionLog``) when it loads a version, so the first client does
  not pay for the graph's lazy initialization. The requests hold
  :func:`example_inputs`: batch 1, latents (the inputs whose role is one of the
  ``latent*`` roles of ``zoo.contract.ROLES``) drawn from the model's latent distribution
  as the model samples them, other floats in [0, 1) (a valid interpolation weight, image
  or video in [-1, 1]), integers 0 (a valid class). The REST bodies hold the same.
- **REST**: a uint8 video output ``video`` [B, T, H, W, C] comes with
  ``video_png_bytes`` [B]: one PNG per video, its frames side by side (a
  filmstrip, W * T wide); a uint8 image output ``image`` [B, H, W, C] with
  ``image_png_bytes``, one PNG per image. TF Serving's REST API returns an output
  whose name ends in ``_bytes`` as ``{"b64": ...}``: a few kilobytes instead of
  a JSON array of up to ~400k integers (:func:`encoded_outputs`). Encoding costs
  time on every call (BUILD_NOTES.md, "Deployment"), so an export may leave it out
  (``encoded_outputs=False``, the CLIs' ``--noencoded_outputs``) where only gRPC
  clients call.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

#: TF Serving's model config file written under ``base_dir``.
MODELS_CONFIG = "models.config"
#: Where the ``tensorflow/serving`` container sees the base folder (``docker-compose.yml``).
DEFAULT_SERVING_ROOT = "/models"
#: The warmup file TF Serving reads from every version folder.
WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"
#: Example ``:predict`` bodies, one per signature: ``<REST_DIR>/<signature>.json``.
REST_DIR = "assets.extra/rest"
#: Suffix of encoded outputs (TF Serving's REST API base64-encodes outputs named ``*_bytes``).
BYTES_SUFFIX = "_bytes"


# ---------------------------------------------------------------- models.config
def existing_versions(model_dir: str) -> List[int]:
    """The integer version folders of ``<base_dir>/<name>`` (what TF Serving would load)."""
    if not tf.io.gfile.isdir(model_dir):
        return []
    names = (n.rstrip("/") for n in tf.io.gfile.listdir(model_dir))
    return sorted(int(n) for n in names if n.isdigit() and tf.io.gfile.isdir(os.path.join(model_dir, n)))


def model_names(base_dir: str) -> List[str]:
    """Model folders under ``base_dir`` that hold at least one version, sorted."""
    if not tf.io.gfile.isdir(base_dir):
        return []
    names = sorted(n.rstrip("/") for n in tf.io.gfile.listdir(base_dir))
    return [n for n in names if not n.startswith(".") and existing_versions(os.path.join(base_dir, n))]


def check_serving_root(serving_root: str) -> str:
    """``serving_root`` without a trailing "/" if it is absolute (``/models``) or a URL
    (``gs://bucket/models``): the server resolves ``base_path`` where it runs, so a
    relative one would depend on its working directory. Else ``ValueError``."""
    root = os.fspath(serving_root or "").rstrip("/")
    if not (root.startswith("/") or "://" in root):
        raise ValueError(
            f"serving_root {serving_root!r}: expected an absolute path where the model server "
            f"sees the export base folder (default {DEFAULT_SERVING_ROOT!r}, the container's "
            "mount point) or a URL such as gs://bucket/models"
        )
    return root


def _quote(text: str) -> str:
    """A protobuf text-format string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def models_config_text(base_dir: str, serving_root: str = DEFAULT_SERVING_ROOT) -> str:
    """TF Serving's ``ModelServerConfig`` in text format, one entry per model folder of
    ``base_dir``, each ``base_path`` under ``serving_root``. The server serves the newest
    version of each model (the default version policy)."""
    root = check_serving_root(serving_root)
    entries = "".join(
        "  config {\n"
        f"    name: {_quote(n)}\n"
        f"    base_path: {_quote(posixpath.join(root, n))}\n"
        '    model_platform: "tensorflow"\n'
        "  }\n"
        for n in model_names(base_dir)
    )
    return "model_config_list {\n" + entries + "}\n"


def parse_models_config(text: str) -> model_server_config_pb2.ModelServerConfig:
    """``text`` parsed with TF Serving's own proto; ``ValueError`` if it does not parse."""
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as e:
        raise ValueError(f"{MODELS_CONFIG}: not a ModelServerConfig in text format: {e}") from e
    return config


def check_models_config(text: str, base_dir: str, serving_root: str = DEFAULT_SERVING_ROOT) -> Dict[str, List[int]]:
    """Checks a ``models.config`` against the folder the server will see at ``serving_root``.

    Every entry's ``base_path`` must be ``<serving_root>/<folder>`` with ``<base_dir>/<folder>``
    holding at least one version, every version a ``specific`` policy pins must exist, and
    the platform must be ``tensorflow``. Returns ``{model name: its versions}``; raises
    ``ValueError`` naming the entry and what is missing.
    """
    root = check_serving_root(serving_root)
    found = {}
    for entry in parse_models_config(text).model_config_list.config:
        where = f"{MODELS_CONFIG} entry {entry.name!r}"
        if entry.model_platform != "tensorflow":
            raise ValueError(f"{where}: model_platform {entry.model_platform!r}, expected 'tensorflow'")
        if not entry.base_path.startswith(root + "/"):
            raise ValueError(f"{where}: base_path {entry.base_path!r} is not under the serving root {root!r}")
        folder = os.path.join(base_dir, *entry.base_path[len(root) + 1 :].split("/"))
        versions = existing_versions(folder)
        if not versions:
            raise ValueError(f"{where}: {folder} holds no version folder (expected <name>/<integer>/)")
        pinned = list(entry.model_version_policy.specific.versions)
        missing = sorted(set(pinned) - set(versions))
        if missing:
            raise ValueError(f"{where}: pins versions {missing} that {folder} does not hold (it holds {versions})")
        found[entry.name] = versions
    return found


# ---------------------------------------------------------------- example requests
def example_inputs(
    specs: Mapping[str, tf.TensorSpec],
    batch: int = 1,
    seed: int = 0,
    roles: Optional[Mapping[str, str]] = None,
    latent_distribution: Optional[str] = None,
) -> Dict[str, np.ndarray]:
    """A valid input for every named spec: batch ``batch`` where the batch size is free;
    an input whose role (``roles``, ``zoo.contract.ROLES``) is a latent one drawn from
    ``latent_distribution`` (``zoo.randomness.draw_latent``: N(0, I) or U(-1, 1)), other
    floats in [0, 1), integers 0. ``ValueError`` for a dimension other than the batch left
    free, a latent input without a distribution, or another dtype."""
    from zoo.randomness import draw_latent

    rng = np.random.default_rng(seed)
    out = {}
    for k, name in enumerate(sorted(specs)):
        spec = specs[name]
        dims = spec.shape.as_list()
        if any(d is None for d in dims[1:]):
            raise ValueError(f"input {name!r} {dims}: only the batch dimension may be free for an example")
        shape = [batch if dims[0] is None else dims[0]] + dims[1:]
        if (roles or {}).get(name, "").startswith("latent") and spec.dtype.is_floating:
            if latent_distribution is None:
                raise ValueError(
                    f"input {name!r} is a latent ({roles[name]}): expected the model's latent "
                    "distribution ('normal' or 'uniform') to draw it from, got none"
                )
            out[name] = draw_latent(latent_distribution, shape, [seed, k]).numpy().astype(spec.dtype.as_numpy_dtype)
        elif spec.dtype.is_floating:
            out[name] = rng.random(shape).astype(spec.dtype.as_numpy_dtype)
        elif spec.dtype.is_integer:
            out[name] = np.zeros(shape, spec.dtype.as_numpy_dtype)
        else:
            raise ValueError(f"input {name!r}: no example for dtype {spec.dtype.name}")
    return out


def signature_specs(loaded) -> Dict[str, Dict[str, tf.TensorSpec]]:
    """``{signature name: {input name: spec}}`` of a loaded SavedModel."""
    return {n: dict(f.structured_input_signature[1]) for n, f in loaded.signatures.items()}


def warmup_records(
    model_name: str,
    specs: Mapping[str, Mapping[str, tf.TensorSpec]],
    roles: Optional[Mapping[str, Mapping[str, str]]] = None,
    latent_distribution: Optional[str] = None,
) -> List[bytes]:
    """One serialized ``PredictionLog`` per signature (batch 1, :func:`example_inputs`;
    ``roles``: ``{signature: {input: role}}``)."""
    records = []
    for sig_name in sorted(specs):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = sig_name
        for key, value in example_inputs(
            specs[sig_name], roles=(roles or {}).get(sig_name), latent_distribution=latent_distribution
        ).items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        records.append(log.SerializeToString())
    return records


def write_warmup(export_dir: str, records: List[bytes]) -> str:
    path = os.path.join(export_dir, WARMUP_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path


def read_warmup(export_dir: str) -> List[predict_pb2.PredictRequest]:
    """The ``PredictRequest`` of every record of a version's warmup file."""
    requests = []
    for raw in tf.data.TFRecordDataset(os.path.join(export_dir, WARMUP_FILE)).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(raw)
        if log.WhichOneof("log_type") != "predict_log":
            raise ValueError(f"warmup record of type {log.WhichOneof('log_type')!r}; expected predict_log")
        requests.append(log.predict_log.request)
    return requests


def rest_body(signature_name: str, inputs: Mapping[str, np.ndarray]) -> Dict[str, Any]:
    """A ``:predict`` body in TF Serving's row format: ``{"signature_name", "instances":
    [{input: value of one example}, ...]}``."""
    batch = len(next(iter(inputs.values())))
    return {
        "signature_name": signature_name,
        "instances": [{k: v[i].tolist() for k, v in sorted(inputs.items())} for i in range(batch)],
    }


def rest_inputs(body: Mapping[str, Any], specs: Mapping[str, tf.TensorSpec]) -> Dict[str, np.ndarray]:
    """The tensors TF Serving's REST API makes of a row-format ``body``: the instances'
    values of each named input stacked along the batch, in the input's dtype.
    ``ValueError`` naming what the signature expects for a body of another shape."""
    instances = body.get("instances")
    expected = {k: f"{s.dtype.name} {s.shape.as_list()}" for k, s in sorted(specs.items())}
    if not isinstance(instances, list) or not instances:
        raise ValueError(f"a :predict body needs a non-empty 'instances' list; the signature expects {expected}")
    if len(specs) == 1 and not isinstance(instances[0], Mapping):
        (name,) = specs
        instances = [{name: x} for x in instances]
    out = {}
    for name, spec in specs.items():
        try:
            values = [instance[name] for instance in instances]
        except (KeyError, TypeError):
            raise ValueError(f"every instance needs the input {name!r}; the signature expects {expected}") from None
        array = np.asarray(values, dtype=spec.dtype.as_numpy_dtype)
        if not spec.shape.is_compatible_with(array.shape):
            raise ValueError(f"input {name!r} must be {expected[name]}; the instances make {list(array.shape)}")
        out[name] = array
    return out


def write_rest_bodies(
    export_dir: str,
    specs: Mapping[str, Mapping[str, tf.TensorSpec]],
    roles: Optional[Mapping[str, Mapping[str, str]]] = None,
    latent_distribution: Optional[str] = None,
) -> Dict[str, str]:
    """``<REST_DIR>/<signature>.json`` for every signature (:func:`example_inputs`, as
    :func:`warmup_records`); returns their paths."""
    paths = {}
    for sig_name in sorted(specs):
        path = os.path.join(export_dir, REST_DIR, f"{sig_name}.json")
        tf.io.gfile.makedirs(os.path.dirname(path))
        inputs = example_inputs(
            specs[sig_name], roles=(roles or {}).get(sig_name), latent_distribution=latent_distribution
        )
        with tf.io.gfile.GFile(path, "w") as f:
            json.dump(rest_body(sig_name, inputs), f)
            f.write("\n")
        paths[sig_name] = path
    return paths


def curl_command(
    model_name: str, signature_name: str, host: str = "localhost:8501", body_path: Optional[str] = None
) -> str:
    """The ``curl`` line that posts a signature's example body to TF Serving's REST API."""
    body = body_path or posixpath.join("<version>", REST_DIR, f"{signature_name}.json")
    return f"curl -s -d @{body} http://{host}/v1/models/{model_name}:predict"


# ---------------------------------------------------------------- encoded outputs
def _png_each(images: tf.Tensor) -> tf.Tensor:
    """uint8 [B, H, W, C] -> string [B], one PNG each."""
    # zlib level 1: a third faster than the default level on generated videos, files ~5% larger.
    return tf.map_fn(
        lambda image: tf.io.encode_png(image, compression=1), images, fn_output_signature=tf.TensorSpec([], tf.string)
    )


def encoded_outputs(outputs: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """``outputs`` plus ``<name>_png_bytes`` for each uint8 video [B, T, H, W, C] (a
    filmstrip PNG per video, frames left to right) or image [B, H, W, C] (a PNG each)
    with 1, 3 or 4 channels."""
    out = dict(outputs)
    for name, tensor in outputs.items():
        rank = tensor.shape.rank
        if tensor.dtype != tf.uint8 or rank not in (4, 5) or tensor.shape[-1] not in (1, 3, 4):
            continue
        if rank == 5:  # [B, T, H, W, C] -> [B, H, T * W, C]
            shape = tf.shape(tensor)
            tensor = tf.reshape(
                tf.transpose(tensor, [0, 2, 1, 3, 4]), [shape[0], shape[2], shape[1] * shape[3], tensor.shape[-1]]
            )
        out[name + "_png" + BYTES_SUFFIX] = _png_each(tensor)
    return out


def decode_filmstrip(png: bytes, frames: int) -> np.ndarray:
    """A ``*_png_bytes`` video back to uint8 [T, H, W, C] (for clients and tests)."""
    image = tf.io.decode_png(png).numpy()  # [H, T * W, C]
    h, tw, c = image.shape
    if tw % frames:
        raise ValueError(f"a filmstrip {tw} wide cannot hold {frames} frames of equal width")
    return image.reshape(h, frames, tw // frames, c).transpose(1, 0, 2, 3)
