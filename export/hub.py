"""TF Hub modules: the zoo's image-generator interface, and loading any zoo export.

The image-generator interface (``zoo.contract.ImageGenerator``; ``INTERFACE`` =
``"zoo.image_generator/1"``) is how a pretrained image generator (VGAN's
background stream b(z), later a DCGAN) enters TGAN, STGAN or the traversal
GAN. A module implementing it is a TF2 Hub-format SavedModel with:

- ``__call__(z, training=False)``: ``z`` float32 [B, latent_dim] -> image
  float32 [B, H, W, C] in [-1, 1]; traced for both ``training`` values
  (True: batch statistics, and the batch-norm moving averages are updated);
- ``variables``, ``trainable_variables``, ``regularization_losses`` (empty);
- the ``serving_default`` signature, ``z`` -> ``image`` (TF Serving,
  ``saved_model_cli``);
- the interface metadata, stored twice:

  - ``metadata()``: a ``tf.function`` without inputs returning constants
    ``{"interface": "zoo.image_generator/1", "latent_dim": int32,
    "latent_distribution": "normal" | "uniform", "image_shape": int32 [3]}``.
    It is what loaders read: available right after ``hub.load`` (also for a
    remote handle, whose files sit in the hub cache), no variable is added,
    nothing can be assigned by accident;
  - ``assets/zoo_image_generator.json``: the same values as JSON, for
    people and tools that read files (tracked as ``interface_asset``).

Loading: :func:`load_image_generator` returns a Keras 3 layer
(:class:`ImageGeneratorLayer`) built like ``keras.layers.TFSMLayer``: the
module's own ``tf.Variable``s are wrapped (not copied) as Keras variables, so
training the layer trains the module's weights and the trainable flags are
Keras'. ``hub.KerasLayer`` cannot be used inside Keras 3 models.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import keras
import tensorflow as tf
import tensorflow_hub as hub
from keras.src.saving import serialization_lib

from export import saved_model as sm
from zoo import contract, layers, pretrained
from zoo.contract import ImageGenerator, Signature


#: Name and version of the image-generator interface (``metadata()["interface"]``).
INTERFACE = "zoo.image_generator/1"
#: Optional metadata key of an image-generator module: the generator's Keras JSON (a Sequential).
ARCHITECTURE_KEY = "keras_architecture"
#: The image-features interface: D1' of TGAN (images -> per-frame feature maps).
FEATURES_INTERFACE = "zoo.image_features/1"
#: MVT's motion constraint: a pairwise optical-flow estimator (see export_flow_estimator).
FLOW_INTERFACE = "zoo.optical_flow/1"
_INTERFACE_NAMES = {INTERFACE: "image-generator", FEATURES_INTERFACE: "image-features"}
#: The interface metadata as a JSON asset inside every image-generator module.
INTERFACE_ASSET = "zoo_image_generator.json"


# ---------------------------------------------------------------- loading any export
def _is_local(handle: str) -> bool:
    """A local filesystem path (not ``https://tfhub.dev/...``, Kaggle, ``gs://`` ...)."""
    return "://" not in handle


def load(handle_or_path: str):
    """Any zoo export (serving version folder or hub module), or a shipped module by name
    (``vgan_bouncing_balls``), loaded as ``hub.load`` loads it.

    Local folders and names go to ``zoo.pretrained.load``: a module with a model card
    (``pretrained/<name>``) is checked against the SHA-256 of its files first (the error names
    the module and the missing or truncated file), and a folder that holds no SavedModel raises
    ``ValueError`` with a hint (a model folder's versions, a shipped module's name). Remote
    handles (tfhub.dev, Kaggle, ``gs://``) go to ``hub.load`` unchanged.
    """
    handle = os.fspath(handle_or_path)
    if _is_local(handle):
        return pretrained.load(handle)
    return hub.load(handle)


def load_generator(handle_or_path: str):
    """A serving export of a zoo generator: ``(loaded, metadata, config dict)``.

    ``ValueError`` naming the handle for anything else (an image-generator or
    classifier module, a foreign SavedModel). Used by ``trainers.evaluate`` and
    ``trainers.generate``.
    """
    handle = os.fspath(handle_or_path)
    loaded = load(handle)
    meta = _metadata_or_empty(loaded)
    if meta.get("interface") != sm.SERVING_INTERFACE or "classifier_arch" in meta:
        raise ValueError(
            f"{handle!r} is not a zoo generator export (expected interface "
            f"{sm.SERVING_INTERFACE!r} serving videos), got {meta.get('interface')!r} "
            f"{meta.get('model_name', '')!r}"
        )
    return loaded, meta, json.loads(meta["config_json"])


# ---------------------------------------------------------------- export
def image_generator_metadata(image_generator: ImageGenerator) -> Dict[str, Any]:
    """The interface metadata of ``image_generator`` (what ``metadata()`` returns)."""
    meta = {
        "interface": INTERFACE,
        "latent_dim": int(image_generator.latent_dim),
        "latent_distribution": str(image_generator.latent_distribution),
        "image_shape": [int(d) for d in image_generator.image_shape],
    }
    if isinstance(image_generator.model, keras.Sequential):
        # The layer chain, so that a consumer can rebuild the network as Keras layers
        # (STGAN inflates it to 3D: load_keras_image_generator). Subclassed generators
        # have no serializable layer order and leave it out.
        meta[ARCHITECTURE_KEY] = image_generator.model.to_json()
    return meta


def _as_image_generator(source) -> ImageGenerator:
    if isinstance(source, ImageGenerator):
        return source
    if not isinstance(source, contract.ExportableModel):
        raise ValueError(f"expected a zoo.contract.ImageGenerator or a zoo model, got {type(source).__name__}")
    image_generator = source.image_generator()
    if image_generator is None:
        raise ValueError(
            f"model {source.name!r} has no image generator (model.image_generator() is None; config: {source.config!r})"
        )
    return image_generator


def export_image_generator(
    image_generator: Union[ImageGenerator, Any], out_dir: str, card: Optional[Mapping[str, Any]] = None
) -> str:
    """Writes ``image_generator`` (or ``model.image_generator()``) as a TF2 Hub module in ``out_dir``.

    The module implements the image-generator interface described in the
    module docstring. The write is atomic (built in a ``.tmp-*`` sibling and
    renamed); an existing non-empty ``out_dir`` is refused with
    ``ValueError``. ``card``: the run's model card, kept as ``assets/model_card.json``
    and ``metadata()["card_json"]``. Returns ``out_dir``.
    """
    image_generator = _as_image_generator(image_generator)
    out_dir = sm.check_new_module_dir(out_dir)
    meta = image_generator_metadata(image_generator)
    return _write_interface_module(
        out_dir,
        "image_generator",
        image_generator.model,
        tf.TensorSpec([None, meta["latent_dim"]], tf.float32, name="z"),
        "image",
        "z float32 [batch, latent_dim] -> image float32 [batch, H, W, C] in [-1, 1]",
        meta,
        roles={"z": "latent"},
        card=card,
        interface_asset=True,
    )


def _write_interface_module(
    out_dir: str,
    name: str,
    network,
    spec: tf.TensorSpec,
    output: str,
    doc: str,
    metadata: Mapping[str, Any],
    trainable=None,
    roles: Optional[Mapping[str, str]] = None,
    card: Optional[Mapping[str, Any]] = None,
    interface_asset: bool = False,
) -> str:
    """The one recipe of the zoo's interface modules (image generator, image features,
    optical flow): ``network(x, training)`` cast to float32 as ``__call__`` and as
    ``serving_default`` (``spec.name`` -> ``output``), ``variables`` /
    ``trainable_variables`` (``trainable``, default the network's), ``metadata()`` and,
    with ``interface_asset``, the metadata as ``assets/zoo_interface.json``; a ``card``
    as the serving exports keep it. Written atomically into the checked ``out_dir``."""
    key = spec.name

    def call(x, training=False):
        return tf.cast(network(x, training=training), tf.float32)

    with contextlib.ExitStack() as stack:
        stack.enter_context(layers.unsynchronized_batch_norm(network))  # traced without the replica all-reduce
        serving = sm.signature_function(
            "serving_default",
            Signature(
                fn=lambda **x: {output: call(x[key], False)}, inputs={key: spec}, roles=dict(roles or {}), doc=doc
            ),
        )
        assets = (
            {
                "interface_asset": stack.enter_context(
                    sm.staged_json(INTERFACE_ASSET, json.dumps(dict(metadata), indent=2, sort_keys=True))
                )
            }
            if interface_asset
            else {}
        )
        card_metadata, card_assets = sm.card_parts(card, stack)
        module = sm.ExportedModule(
            call=call,
            call_spec=spec,
            trainable=network.trainable_variables if trainable is None else list(trainable),
            metadata={**metadata, **card_metadata},
            assets={**assets, **card_assets},
            extra_functions=[serving],
            name=name,
        )
        with sm.atomic_directory(out_dir, replace_empty=True) as tmp:
            sm.save_module(module, tmp, {"serving_default": serving})
    return out_dir


# ---------------------------------------------------------------- loading the interface
def _metadata_or_empty(module) -> Dict[str, Any]:
    """``module.metadata()`` as a dict, empty for a SavedModel the zoo did not write."""
    try:
        return sm.read_metadata(module)
    except ValueError:
        return {}


def interface_metadata(module, handle: str, interface: str = INTERFACE) -> Dict[str, Any]:
    """The interface metadata of a loaded module; ``ValueError`` if it does not implement ``interface``."""
    meta = _metadata_or_empty(module)
    actual = meta.get("interface")
    missing = [a for a in ("__call__", "variables", "trainable_variables") if not hasattr(module, a)]
    if actual != interface or missing:
        raise ValueError(
            f"{handle!r} does not implement the {_INTERFACE_NAMES.get(interface, interface)} "
            f"interface: expected interface {interface!r}, got {actual!r}"
            f"{'; missing attributes ' + str(missing) if missing else ''}"
        )
    return meta


def _variable_name(v) -> str:
    return v.name.split(":")[0]


def batch_norm_parameters(names) -> set:
    """The names among ``names`` that are batch-norm scale/offset variables.

    Identified by name: ``<layer>/gamma`` or ``<layer>/beta`` whose layer
    also owns ``<layer>/moving_mean`` or ``<layer>/moving_variance`` (Keras
    ``BatchNormalization``, TF1/Slim ``BatchNorm``). The moving-statistics
    test excludes layer normalization's gamma/beta. Names are the saved
    variable names (Keras 3 saves the variable path,
    e.g. ``video_generator/background_stream/bg_bn0/gamma``).
    """
    split = [n.split(":")[0].rpartition("/") for n in names]  # (layer, "/", variable)
    bn_layers = {layer for layer, _, leaf in split if layer and leaf in ("moving_mean", "moving_variance")}
    return {f"{layer}/{leaf}" for layer, _, leaf in split if layer in bn_layers and leaf in ("gamma", "beta")}


TrainableMode = Union[bool, str]


def _check_trainable(trainable: TrainableMode) -> TrainableMode:
    if trainable is True or trainable is False or trainable == "batch_norm":
        return trainable
    raise ValueError(f"trainable must be True, False or 'batch_norm', got {trainable!r}")


class _ModuleLayer(keras.layers.Layer):
    """A loaded interface module as a Keras 3 layer (see :class:`ImageGeneratorLayer`)."""

    interface = ""

    def __init__(self, handle: str, trainable: TrainableMode = True, name: Optional[str] = None, **kwargs):
        mode = _check_trainable(trainable)
        kwargs["dtype"] = "float32"
        super().__init__(trainable=mode is not False, name=name, **kwargs)
        self.handle = os.fspath(handle)
        self.trainable_mode = mode
        self._module = load(self.handle)
        self.metadata = interface_metadata(self._module, self.handle, self.interface)
        trainable_ids = {id(v) for v in self._module.trainable_variables}
        bn = batch_norm_parameters([v.name for v in self._module.variables])
        for v in self._module.variables:
            train = id(v) in trainable_ids and (mode != "batch_norm" or _variable_name(v) in bn)
            self._track_variable(
                keras.Variable(
                    initializer=v,
                    trainable=train,
                    dtype=v.dtype,
                    shape=v.shape,
                    name=_variable_name(v).replace("/", "_"),
                )
            )  # Keras names cannot contain "/"
        self._build_at_init()

    def get_config(self):
        return {**super().get_config(), "handle": self.handle, "trainable": self.trainable_mode}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Like ``TFSMLayer``: loading an external SavedModel runs its graph, so only when unsafe."""
        safe = safe_mode if safe_mode is not None else serialization_lib.in_safe_mode()
        if safe is not False:
            raise ValueError(
                f"deserializing a {cls.__name__} loads the SavedModel at "
                f"{config.get('handle')!r}; pass safe_mode=False if you trust it"
            )
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo_export")
class ImageGeneratorLayer(_ModuleLayer):
    """A loaded image-generator module as a Keras 3 layer: ``layer(z, training=...)`` -> images.

    Attributes ``latent_dim``, ``latent_distribution``, ``image_shape`` and
    ``handle`` come from the module's interface metadata. Weights are the
    module's variables wrapped as Keras variables (shared, not copied; like
    ``keras.layers.TFSMLayer``). Which of them train depends on ``trainable``:

    - ``True``: the module's ``trainable_variables``;
    - ``False``: none (``layer.trainable`` is False; setting it to True later
      unfreezes the module's ``trainable_variables``);
    - ``"batch_norm"``: only the batch-norm gamma/beta (see
      :func:`batch_norm_parameters`); the rest stays frozen.

    ``training`` is passed to the module's ``__call__`` (True uses batch
    statistics and updates the moving averages, the usual Keras behaviour
    under ``fit``). The layer computes in float32 whatever the global dtype
    policy is, as the module does.
    """

    interface = INTERFACE

    def __init__(
        self,
        handle: str,
        expected_latent_dim: Optional[int] = None,
        trainable: TrainableMode = True,
        name: Optional[str] = None,
        **kwargs,
    ):
        super().__init__(handle, trainable=trainable, name=name, **kwargs)
        meta = self.metadata
        self.expected_latent_dim = expected_latent_dim
        self.latent_dim = int(meta["latent_dim"])
        self.latent_distribution = str(meta["latent_distribution"])
        self.image_shape: Tuple[int, ...] = tuple(int(d) for d in meta["image_shape"])
        if expected_latent_dim is not None and int(expected_latent_dim) != self.latent_dim:
            raise ValueError(f"{self.handle!r}: expected latent_dim {int(expected_latent_dim)}, got {self.latent_dim}")

    def call(self, z, training=False):
        if z.shape.rank is not None and (z.shape.rank != 2 or z.shape[-1] not in (None, self.latent_dim)):
            raise ValueError(
                f"{self.name}: input z must be float32 [batch, {self.latent_dim}], got shape {tuple(z.shape)}"
            )
        return self._module(tf.cast(z, tf.float32), training=bool(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.image_shape

    def sample(self, num: int, seed: int = 0, batch_size: int = 256) -> tf.Tensor:
        """``num`` images float32 [num, H, W, C] in [-1, 1] from latents drawn from the module's
        distribution (one draw, a pure function of ``seed``), ``batch_size`` at a time in
        inference mode."""
        from zoo.randomness import draw_latent

        z = draw_latent(self.latent_distribution, [num, self.latent_dim], [seed, 0])
        return tf.concat([self(z[i : i + batch_size], training=False) for i in range(0, num, batch_size)], 0)

    def get_config(self):
        return {**super().get_config(), "expected_latent_dim": self.expected_latent_dim}


@keras.saving.register_keras_serializable(package="zoo_export")
class ImageFeaturesLayer(_ModuleLayer):
    """A loaded image-features module (``FEATURES_INTERFACE``; TGAN's D1') as a Keras 3 layer:
    ``layer(images, training=...)`` -> feature maps; ``image_shape`` / ``feature_shape``
    from its metadata; ``trainable`` as for :class:`ImageGeneratorLayer`."""

    interface = FEATURES_INTERFACE

    def __init__(self, handle: str, trainable: TrainableMode = True, name: Optional[str] = None, **kwargs):
        super().__init__(handle, trainable=trainable, name=name, **kwargs)
        self.image_shape: Tuple[int, ...] = tuple(int(d) for d in self.metadata["image_shape"])
        self.feature_shape: Tuple[int, ...] = tuple(int(d) for d in self.metadata["feature_shape"])

    def call(self, images, training=False):
        if images.shape.rank is not None and tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"{self.name}: input images must be float32 [batch, "
                f"{', '.join(map(str, self.image_shape))}], got shape {tuple(images.shape)}"
            )
        return self._module(tf.cast(images, tf.float32), training=bool(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.feature_shape


def export_image_features(features_layer, image_shape, out_dir: str) -> str:
    """Writes an image feature extractor (TGAN's D1': images -> feature maps) as a TF Hub
    module implementing ``FEATURES_INTERFACE`` in ``out_dir``: ``__call__(images, training)``,
    ``variables`` / ``trainable_variables``, ``serving_default`` (``image`` -> ``features``)
    and ``metadata()`` (interface, image_shape, feature_shape). Atomic; a non-empty
    ``out_dir`` is refused."""
    out_dir = sm.check_new_module_dir(out_dir)
    image_shape = tuple(int(d) for d in image_shape)
    spec = tf.TensorSpec((None,) + image_shape, tf.float32, name="image")
    feature_shape = tuple(int(d) for d in features_layer(tf.zeros((1,) + image_shape), training=False).shape[1:])
    meta = {"interface": FEATURES_INTERFACE, "image_shape": list(image_shape), "feature_shape": list(feature_shape)}
    return _write_interface_module(
        out_dir,
        "image_features",
        features_layer,
        spec,
        "features",
        "image float32 [batch, H, W, C] in [-1, 1] -> features float32 [batch, ...]",
        meta,
    )


def load_image_features(
    handle_or_path: str, trainable: TrainableMode = True, name: Optional[str] = None
) -> ImageFeaturesLayer:
    """Loads an image-features module (Hub handle or path) as a Keras 3 layer; ``ValueError``
    naming the handle when it does not implement ``FEATURES_INTERFACE``."""
    return ImageFeaturesLayer(handle_or_path, trainable=trainable, name=name)


def load_image_generator(
    handle_or_path: str,
    expected_latent_dim: Optional[int] = None,
    trainable: TrainableMode = True,
    name: Optional[str] = None,
) -> ImageGeneratorLayer:
    """Loads an image-generator module (Hub handle or path) as a Keras 3 layer.

    Raises ``ValueError`` naming the handle, the expected and the actual
    value when the module does not implement ``INTERFACE`` or its latent size
    differs from ``expected_latent_dim``. See :class:`ImageGeneratorLayer`.
    """
    return ImageGeneratorLayer(handle_or_path, expected_latent_dim=expected_latent_dim, trainable=trainable, name=name)


def load_keras_image_generator(handle_or_path: str) -> ImageGenerator:
    """An image-generator module rebuilt as the Keras network it was exported from:
    a ``zoo.contract.ImageGenerator`` whose ``model`` is a fresh ``keras.Sequential`` (from the
    module's ``keras_architecture`` metadata) holding copies of the module's weights.

    What needs the layers themselves, not just a callable, uses it: STGAN inflates them
    to 3D. ``ValueError`` naming the handle when the module is not an image generator,
    carries no architecture (its generator was a subclassed model), or its weights do
    not fit the architecture."""
    handle = os.fspath(handle_or_path)
    module = load(handle)
    meta = interface_metadata(module, handle, INTERFACE)
    if ARCHITECTURE_KEY not in meta:
        raise ValueError(
            f"{handle!r} is an image-generator module without its Keras architecture (metadata "
            f"{ARCHITECTURE_KEY!r}): its generator was not a keras.Sequential, so its layers cannot be "
            "rebuilt; expected a module written by export_image_generator from a Sequential generator"
        )
    model = keras.models.model_from_json(meta[ARCHITECTURE_KEY])

    # Matched by "<layer>/<variable>": layer names are unique within a Sequential, and the
    # saved paths carry the prefixes of whatever model held the generator at export time.
    def key(path):
        return "/".join(path.split("/")[-2:])

    saved = {key(_variable_name(v)): v for v in module.variables}
    missing, mismatched = [], []
    for w in model.weights:
        v = saved.pop(key(w.path), None)
        if v is None:
            missing.append(w.path)
        elif tuple(v.shape) != tuple(w.shape):
            mismatched.append(f"{w.path} {tuple(v.shape)} vs {tuple(w.shape)}")
        else:
            w.assign(v)
    if missing or mismatched or saved:
        raise ValueError(
            f"{handle!r}: the module's weights do not fit its architecture: missing {missing}, "
            f"shape mismatches {mismatched}, unused {sorted(saved)}"
        )
    return ImageGenerator(
        model=model,
        latent_dim=int(meta["latent_dim"]),
        latent_distribution=str(meta["latent_distribution"]),
        image_shape=tuple(int(d) for d in meta["image_shape"]),
    )


# ---------------------------------------------------------------- any zoo model as a hub module
def export_hub_module(model, out_dir: str, extra_files=None, card: Optional[Mapping[str, Any]] = None) -> str:
    """Writes ``model``'s export (the same module as a serving version: signatures,
    ``__call__``, variables, metadata) as a TF Hub module in ``out_dir``, atomically;
    an existing non-empty ``out_dir`` is refused. A classifier's module serves
    ``video -> logits, probabilities, features`` (see ``zoo.classifiers``)."""
    out_dir = sm.check_new_module_dir(out_dir)
    sm.check_extra_files(extra_files)
    with sm.atomic_directory(out_dir, replace_empty=True) as tmp:
        sm.save_model_module(model, tmp, extra_files=extra_files, card=card)
    return out_dir


def check_reusable_module(model, hub_dir: str) -> None:
    """``ValueError`` unless ``model`` can write the hub module its ``hub_module`` declares
    (e.g. a one-stream VGAN has no image generator); the trainers call it before training.
    ``model`` kept the contract when it was built (``export.runs.build_model``)."""
    if model.hub_module == "image_generator" and model.image_generator() is None:
        raise ValueError(
            f"--hub_dir={hub_dir}: the {model.config.export_name!r} model has no image generator "
            "(e.g. a one-stream VGAN)"
        )


def export_reusable_module(model, out_dir: str, extra_files=None, card: Optional[Mapping[str, Any]] = None) -> str:
    """The hub module a run leaves with ``--hub_dir``, as the model's ``hub_module`` declares:
    a GAN's image generator (:func:`export_image_generator`), or the model whole (a
    classifier, MVT's class-conditional video generator; :func:`export_hub_module`)."""
    check_reusable_module(model, out_dir)
    if model.hub_module == "image_generator":
        return export_image_generator(model, out_dir, card=card)
    return export_hub_module(model, out_dir, extra_files=extra_files, card=card)


# ---------------------------------------------------------------- optical flow (MVT's motion constraint)
def export_flow_estimator(pair_flow, frame_shape, out_dir: str, trainable_variables=()) -> str:
    """Writes a pairwise optical-flow estimator as a TF Hub module implementing
    ``FLOW_INTERFACE`` in ``out_dir`` (atomic; a non-empty ``out_dir`` is refused):
    ``__call__(pair)`` with ``pair`` float32 [N, 2, H, W, C] in [-1, 1] (first, second
    frame) -> flow float32 [N, h, w, 2] (x then y, pixels), ``serving_default``
    (``pair`` -> ``flow``), ``variables`` / ``trainable_variables`` and ``metadata()``.
    ``pair_flow(first, second)`` is the estimator (e.g. ``zoo.mvt.LucasKanadeFlow(...).pairs``,
    or a wrapped PWC-Net, whose weights fine-tuning may change go in
    ``trainable_variables``); ``frame_shape`` is (H, W, C), which may hold ``None``."""
    out_dir = sm.check_new_module_dir(out_dir)
    shape = tuple(None if d is None else int(d) for d in frame_shape)
    spec = tf.TensorSpec((None, 2) + shape, tf.float32, name="pair")

    meta = {"interface": FLOW_INTERFACE, "frame_shape": [-1 if d is None else d for d in shape]}
    return _write_interface_module(
        out_dir,
        "optical_flow",
        lambda pair, training=False: pair_flow(pair[:, 0], pair[:, 1]),
        spec,
        "flow",
        "pair float32 [batch, 2, H, W, C] in [-1, 1] -> flow float32 [batch, h, w, 2] (x, y in pixels)",
        meta,
        trainable=trainable_variables,
    )


def load_flow_estimator(handle_or_path: str):
    """An optical-flow module (Hub handle or path, ``FLOW_INTERFACE``) as the callable
    zoo.mvt takes: ``flow(video [B, T, H, W, C]) -> flows [B, T-1, h, w, 2]``,
    differentiable with respect to the video. ``ValueError`` naming the handle for
    anything else."""
    from zoo import layers

    handle = os.fspath(handle_or_path)
    module = load(handle)
    meta = _metadata_or_empty(module)
    if meta.get("interface") != FLOW_INTERFACE:
        raise ValueError(
            f"{handle!r} is not an optical-flow module (expected interface {FLOW_INTERFACE!r}, "
            f"written by export.hub.export_flow_estimator), got {meta.get('interface')!r}"
        )

    def flow(video):
        return layers.video_flow(lambda a, b: module(tf.stack([a, b], axis=1)), video)

    flow.handle = handle
    flow.module = module
    return flow


# ---------------------------------------------------------------- feature networks for the metrics
#: Where a classifier export keeps the test accuracy its trainer measured.
CLASSIFIER_REPORT = "assets.extra/classifier_report.json"


def load_video_classifier(handle_or_path: str):
    """A zoo classifier export (hub module or serving version) as a ``zoo.metrics.FeatureNetwork``.

    Raises ``ValueError`` naming the handle when it is not a classifier export.
    The network's ``info`` records the handle, architecture, classes, config and
    (when the trainer wrote it) the classifier's own test accuracy.
    """
    from zoo import metrics

    handle = os.fspath(handle_or_path)
    module = load(handle)
    meta = _metadata_or_empty(module)
    if "classifier_arch" not in meta:
        raise ValueError(
            f"{handle!r} is not a zoo video classifier export (expected metadata "
            f"'classifier_arch', written by `python -m trainers.classifier`); got "
            f"{meta.get('model_name') or 'no zoo metadata'}"
        )
    frames, size, _, channels = (int(d) for d in meta["input_shape"])
    outputs = tuple(o for o in json.loads(meta["outputs_json"]) if o != "probabilities")
    info = {
        "handle": handle,
        "arch": meta["classifier_arch"],
        "num_classes": int(meta["num_classes"]),
        "class_names": json.loads(meta["class_names_json"]),
        "input_shape": list(meta["input_shape"]),
        "config": json.loads(meta["config_json"]),
    }
    report = os.path.join(pretrained.path(handle), CLASSIFIER_REPORT)  # a shipped module's name: its folder
    if _is_local(handle) and tf.io.gfile.exists(report):
        with tf.io.gfile.GFile(report) as f:
            info["report"] = json.load(f)

    def call(video):
        # Through ``module`` (not the bare signature), so that its variables outlive this
        # function: a tf.function tracing the network (STGAN's AM) would find them deleted.
        # run_signature: a wrong dtype or shape is an error naming the signature and the input.
        return sm.run_signature(module, {"video": video})

    return metrics.FeatureNetwork(
        name=meta["classifier_arch"], fn=call, size=size, frames=frames, channels=channels, outputs=outputs, info=info
    )


def load_i3d(handle: Optional[str] = None):
    """The I3D network of the reference FVD as a ``zoo.metrics.FeatureNetwork`` (400 logits).

    ``handle`` defaults to ``zoo.metrics.I3D_HANDLE`` (tfhub.dev; needs the network or a
    filled ``TFHUB_CACHE_DIR``); a local folder holding the unpacked module works the same.
    Its ``default`` signature takes ``[B, T, 224, 224, 3]`` in [-1, 1]; ``FeatureNetwork``
    resizes frames to 224 with TF1's ``resize_bilinear`` (no half-pixel centres), as the
    reference code does, and ``fvd_i3d_<N>f`` feeds it the first N frames of every clip. A module that cannot be
    loaded raises ``ValueError`` naming the handle and what to do, not a stack trace.
    """
    from zoo import metrics

    handle = os.fspath(handle or metrics.I3D_HANDLE)
    try:
        module = hub.load(handle)
        signature = module.signatures["default"]
    except Exception as e:  # noqa: BLE001 - any failure here means "no usable I3D"
        reason = (str(e).strip().splitlines() or [""])[0][:300]
        raise ValueError(
            f"FVD with I3D needs the TF Hub module {handle!r} (I3D trained on Kinetics-400, the network of "
            f"the reference FVD), and it could not be loaded: {type(e).__name__}: {reason}. Without network "
            "access, download it elsewhere (https://tfhub.dev/deepmind/i3d-kinetics-400/1?tf-hub-format="
            "compressed), unpack it and pass the folder (--i3d=/path/to/i3d), or use fvd_local_16f "
            "with a classifier the zoo trained."
        ) from None
    (input_name,) = signature.structured_input_signature[1].keys()
    return metrics.FeatureNetwork(
        name="i3d",
        fn=lambda v: {"logits": signature(**{input_name: v})["default"]},
        size=metrics.I3D_SIZE,
        frames=None,
        outputs=("logits",),
        batch_size=16,
        resize="tf1_bilinear",
        info={
            "handle": handle,
            "arch": "i3d",
            "features": "400 logits",
            "preprocessing": "first N frames (fvd_i3d_<N>f), TF1 resize_bilinear (align_corners=False, "
            "half_pixel_centers=False) to 224x224, values in [-1, 1]",
        },
    )


# ------------------------------------------------------------ pretrained pieces
def load_piece(piece, config):
    """Loads the pretrained piece ``piece`` (a ``zoo.config.PretrainedPiece`` its config
    class declares) from the handle in ``config``'s field, by the piece's interface;
    ``None`` when the field is empty."""
    handle = getattr(config, piece.field)  # a field the config class declares (checked at registration)
    if not handle:
        return None
    trainable = {"batch_norm": "batch_norm", "none": False, "all": True}[piece.trainable_mode(config)]
    if piece.interface == "image_generator":
        expected = getattr(config, piece.latent_dim_field) if piece.latent_dim_field else None
        return load_image_generator(handle, expected_latent_dim=expected, trainable=trainable, name=piece.argument)
    if piece.interface == "image_features":
        return load_image_features(handle, trainable=trainable, name=piece.argument)
    if piece.interface == "image_generator_layers":
        return load_keras_image_generator(handle)
    if piece.interface == "optical_flow":
        return load_flow_estimator(handle)
    raise ValueError(f"pretrained piece {piece.field!r}: no loader for interface {piece.interface!r}")
