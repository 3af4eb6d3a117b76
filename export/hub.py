"""TF Hub modules: the zoo's image-generator interface, and loading any zoo export.

The image-generator interface (``zoo.gan.ImageGenerator``; ``INTERFACE`` =
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

import json
import os
from typing import Any, Dict, Optional, Tuple, Union

import keras
import tensorflow as tf
import tensorflow_hub as hub
from keras.src.saving import serialization_lib

from export import saved_model as sm
from zoo.gan import ImageGenerator, Signature

#: Name and version of the image-generator interface (``metadata()["interface"]``).
INTERFACE = "zoo.image_generator/1"
#: The interface metadata as a JSON asset inside every image-generator module.
INTERFACE_ASSET = "zoo_image_generator.json"


# ---------------------------------------------------------------- loading any export
def _is_local(handle: str) -> bool:
    """A local filesystem path (not ``https://tfhub.dev/...``, Kaggle, ``gs://`` ...)."""
    return "://" not in handle


def load(handle_or_path: str):
    """``hub.load`` of a zoo export (serving version folder or hub module).

    A local path that holds no SavedModel raises ``ValueError`` (with a hint
    when it is a ``<base>/<name>`` folder whose versions are SavedModels);
    remote handles (tfhub.dev, Kaggle, ``gs://``) go to ``hub.load`` unchanged.
    """
    handle = os.fspath(handle_or_path)
    if _is_local(handle) and not tf.saved_model.contains_saved_model(handle):
        hint = ""
        versions = sm.existing_versions(handle)
        if versions:
            hint = f"; it is a model folder: load a version, e.g. {os.path.join(handle, str(versions[-1]))}"
        raise ValueError(f"{handle!r} is not a SavedModel (expected saved_model.pb inside){hint}")
    return hub.load(handle)


# ---------------------------------------------------------------- export
def image_generator_metadata(image_generator: ImageGenerator) -> Dict[str, Any]:
    """The interface metadata of ``image_generator`` (what ``metadata()`` returns)."""
    return {
        "interface": INTERFACE,
        "latent_dim": int(image_generator.latent_dim),
        "latent_distribution": str(image_generator.latent_distribution),
        "image_shape": [int(d) for d in image_generator.image_shape],
    }


def _as_image_generator(source) -> ImageGenerator:
    if isinstance(source, ImageGenerator):
        return source
    get = getattr(source, "image_generator", None)
    if get is None:
        raise ValueError(f"expected a zoo.gan.ImageGenerator or a zoo model, got {type(source).__name__}")
    image_generator = get()
    if image_generator is None:
        config = getattr(source, "config", None)
        raise ValueError(f"model {getattr(source, 'name', source)!r} has no image generator "
                         f"(model.image_generator() is None{'; config: ' + repr(config) if config else ''})")
    return image_generator


def export_image_generator(image_generator: Union[ImageGenerator, Any], out_dir: str) -> str:
    """Writes ``image_generator`` (or ``model.image_generator()``) as a TF2 Hub module in ``out_dir``.

    The module implements the image-generator interface described in the
    module docstring. The write is atomic (built in a ``.tmp-*`` sibling and
    renamed); an existing non-empty ``out_dir`` is refused with
    ``ValueError``. Returns ``out_dir``.
    """
    image_generator = _as_image_generator(image_generator)
    out_dir = os.fspath(out_dir).rstrip("/")
    if tf.io.gfile.exists(out_dir) and not sm.is_empty_dir(out_dir):
        raise ValueError(f"{out_dir} exists and is not empty; refusing to overwrite a hub module")
    generator = image_generator.model
    meta = image_generator_metadata(image_generator)
    spec = tf.TensorSpec([None, meta["latent_dim"]], tf.float32, name="z")

    def image(z, training):
        return tf.cast(generator(z, training=training), tf.float32)

    serving = sm.signature_function("serving_default", Signature(
        fn=lambda z: {"image": image(z, False)}, inputs={"z": spec},
        doc="z float32 [batch, latent_dim] -> image float32 [batch, H, W, C] in [-1, 1]"))
    meta_json = json.dumps(meta, indent=2, sort_keys=True)
    with sm.staged_json(INTERFACE_ASSET, meta_json) as asset:
        module = sm.ExportedModule(call=image, call_spec=spec, trainable=generator.trainable_variables,
                                   metadata=meta, assets={"interface_asset": asset},
                                   extra_functions=[serving], name="image_generator")
        with sm.atomic_directory(out_dir, replace_empty=True) as tmp:
            sm.save_module(module, tmp, {"serving_default": serving})
    return out_dir


# ---------------------------------------------------------------- loading the interface
def interface_metadata(module, handle: str) -> Dict[str, Any]:
    """The interface metadata of a loaded module; ``ValueError`` if it does not implement it."""
    try:
        meta = sm.read_metadata(module)
    except ValueError:
        meta = {}
    actual = meta.get("interface")
    missing = [a for a in ("__call__", "variables", "trainable_variables") if not hasattr(module, a)]
    if actual != INTERFACE or missing:
        raise ValueError(f"{handle!r} does not implement the image-generator interface: expected "
                         f"interface {INTERFACE!r}, got {actual!r}"
                         f"{'; missing attributes ' + str(missing) if missing else ''}")
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


@keras.saving.register_keras_serializable(package="zoo_export")
class ImageGeneratorLayer(keras.layers.Layer):
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

    def __init__(self, handle: str, expected_latent_dim: Optional[int] = None,
                 trainable: TrainableMode = True, name: Optional[str] = None, **kwargs):
        mode = _check_trainable(trainable)
        kwargs["dtype"] = "float32"
        super().__init__(trainable=mode is not False, name=name, **kwargs)
        self.handle = os.fspath(handle)
        self.expected_latent_dim = expected_latent_dim
        self.trainable_mode = mode
        self._module = load(self.handle)
        meta = interface_metadata(self._module, self.handle)
        self.latent_dim = int(meta["latent_dim"])
        self.latent_distribution = str(meta["latent_distribution"])
        self.image_shape: Tuple[int, ...] = tuple(int(d) for d in meta["image_shape"])
        if expected_latent_dim is not None and int(expected_latent_dim) != self.latent_dim:
            raise ValueError(f"{self.handle!r}: expected latent_dim {int(expected_latent_dim)}, "
                             f"got {self.latent_dim}")

        trainable_ids = {id(v) for v in self._module.trainable_variables}
        bn = batch_norm_parameters([v.name for v in self._module.variables])
        for v in self._module.variables:
            train = id(v) in trainable_ids and (mode != "batch_norm" or _variable_name(v) in bn)
            self._track_variable(keras.Variable(
                initializer=v, trainable=train, dtype=v.dtype, shape=v.shape,
                name=_variable_name(v).replace("/", "_")))  # Keras names cannot contain "/"
        self._build_at_init()

    def call(self, z, training=False):
        if z.shape.rank is not None and (z.shape.rank != 2 or z.shape[-1] not in (None, self.latent_dim)):
            raise ValueError(f"{self.name}: input z must be float32 [batch, {self.latent_dim}], "
                             f"got shape {tuple(z.shape)}")
        return self._module(tf.cast(z, tf.float32), training=bool(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.image_shape

    def get_config(self):
        return {**super().get_config(), "handle": self.handle,
                "expected_latent_dim": self.expected_latent_dim, "trainable": self.trainable_mode}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Like ``TFSMLayer``: loading an external SavedModel runs its graph, so only when unsafe."""
        safe = safe_mode if safe_mode is not None else serialization_lib.in_safe_mode()
        if safe is not False:
            raise ValueError("deserializing an ImageGeneratorLayer loads the SavedModel at "
                             f"{config.get('handle')!r}; pass safe_mode=False if you trust it")
        return cls(**config)


def load_image_generator(handle_or_path: str, expected_latent_dim: Optional[int] = None,
                         trainable: TrainableMode = True, name: Optional[str] = None) -> ImageGeneratorLayer:
    """Loads an image-generator module (Hub handle or path) as a Keras 3 layer.

    Raises ``ValueError`` naming the handle, the expected and the actual
    value when the module does not implement ``INTERFACE`` or its latent size
    differs from ``expected_latent_dim``. See :class:`ImageGeneratorLayer`.
    """
    return ImageGeneratorLayer(handle_or_path, expected_latent_dim=expected_latent_dim,
                               trainable=trainable, name=name)
