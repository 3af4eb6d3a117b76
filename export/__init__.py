"""Exports of zoo generators: SavedModels for TF Serving, TF Hub modules, loading them back.

Public API::

    export_saved_model(model, base_dir, name=None, version=None, extra_files=None, card=None,
                       serving_root="/models") -> str
        <base_dir>/<name>/<version>/ (TF Serving layout, with warmup requests and example REST
        bodies) + <base_dir>/models.config naming <serving_root>/<name> (export/serving.py)
    export_image_generator(image_generator_or_model, out_dir) -> str
        a TF2 Hub module implementing the zoo's image-generator interface
    load(handle_or_path)                      hub.load of any zoo export
    load_image_generator(handle_or_path, expected_latent_dim=None, trainable=True)
        -> ImageGeneratorLayer (a Keras 3 layer)
    load_keras_image_generator(handle_or_path) -> zoo.contract.ImageGenerator
                                              the module's Sequential generator rebuilt (STGAN inflates it)
    export_hub_module(model, out_dir)         any zoo model (e.g. a classifier) as a hub module
    export_image_features(layer, image_shape, out_dir) / load_image_features(handle, trainable=True)
                                              TGAN's D1' (images -> feature maps) as a hub module / Keras layer
    export_flow_estimator(pair_flow, frame_shape, out_dir, trainable_variables=())
    load_flow_estimator(handle)               MVT's optical flow (zoo.optical_flow/1) as a hub module / callable
    load_video_classifier(handle_or_path)     a classifier export -> zoo.metrics.FeatureNetwork
    load_i3d(handle=zoo.metrics.I3D_HANDLE)   the reference FVD network -> zoo.metrics.FeatureNetwork
    read_metadata(loaded) -> dict             the metadata() constants of a loaded export
    validate_inputs(signature_fn, inputs)     named, typed check of served inputs
    run_signature(loaded, inputs, signature_name="serving_default")

``python -m export --run_dir=RUN --export_dir=BASE [--hub_dir=DIR]`` exports a
trained run (see ``export/__main__.py``); ``python -m export.serve_layout NAME --export_dir=BASE``
lays out shipped modules (or any module folder) for TF Serving; ``export.runs`` reads run folders.
"""

import importlib
from typing import Any

#: Where each public name lives. The package imports a module on first use (PEP 562), not here:
#: ``export.cli``, which every command line's flag parsing imports, must not pay for TensorFlow
#: and TF Hub (measured: ``python -c "import export.cli"`` took 36 s with them, 0.5 s without,
#: on this 2-core machine under load; ``python -X importtime``: 16 s for ``export.hub``).
_PUBLIC = {
    "hub": (
        "CLASSIFIER_REPORT",
        "FEATURES_INTERFACE",
        "FLOW_INTERFACE",
        "INTERFACE",
        "ImageFeaturesLayer",
        "ImageGeneratorLayer",
        "batch_norm_parameters",
        "export_flow_estimator",
        "export_hub_module",
        "export_image_features",
        "export_image_generator",
        "load",
        "load_flow_estimator",
        "load_i3d",
        "load_image_features",
        "load_image_generator",
        "load_keras_image_generator",
        "load_video_classifier",
    ),
    "saved_model": (
        "CARD_ASSET",
        "CONFIG_ASSET",
        "SERVING_INTERFACE",
        "export_saved_model",
        "next_version",
        "read_metadata",
        "run_signature",
        "validate_inputs",
        "write_models_config",
    ),
    "serving": (
        "DEFAULT_SERVING_ROOT",
        "MODELS_CONFIG",
        "check_models_config",
        "existing_versions",
        "models_config_text",
    ),
}
_MODULE_OF = {name: module for module, names in _PUBLIC.items() for name in names}
_MODULES = ("card", "cli", "hub", "runs", "saved_model", "serve_layout", "serving")

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """``export.<name>``: a public name of :data:`_PUBLIC`, or a module of the package."""
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f"export.{_MODULE_OF[name]}"), name)
    elif name in _MODULES:
        value = importlib.import_module(f"export.{name}")
    else:
        raise AttributeError(f"module 'export' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_MODULES))
