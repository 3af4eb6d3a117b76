"""SavedModel exports of zoo generators, in the TF Serving layout.

``export_saved_model(model, base_dir)`` writes::

    <base_dir>/models.config             ModelServerConfig (text format): every model folder,
                                         at <serving_root>/<name> (export/serving.py)
    <base_dir>/<name>/<version>/         one SavedModel (tag "serve")
        saved_model.pb                   graph, signatures, the object graph below
        variables/                       the generator-side weights
        assets/zoo_config.json           zoo.to_json(model.config): enough to rebuild the model
        assets/model_card.json           the run's model card (export.card.run_card), if given
        assets.extra/tf_serving_warmup_requests   one PredictionLog per signature
        assets.extra/rest/<signature>.json        an example :predict body per signature
        <extra files>                    anything else the caller adds

The SavedModel serves two kinds of client:

- **TF Serving** (and ``saved_model_cli run``) uses the *signatures*: every
  ``model.signatures()`` entry (``serving_default``: ``z`` -> uint8 ``video``;
  VGAN future models also ``future``: ``image`` -> uint8 ``video``) with the
  inputs and outputs named as the model names them, plus ``video_png_bytes``
  beside every uint8 video (one filmstrip PNG per video, for REST clients;
  ``export.serving.encoded_outputs``). TF Serving loads every
  all-digit ``<version>`` folder under ``base_path`` (the newest by default)
  and ignores the others, so a half-written ``.tmp-*`` folder is never served.
  Served inputs are checked in the graph: a tensor of the wrong shape stops at
  an assertion that names the signature, the input and the expected spec
  (the C++ session that TF Serving runs does not check fed shapes itself).
- **Python** (``hub.load(path)``, ``tf.saved_model.load``) uses the object
  graph, a reusable SavedModel in the TF2 Hub format:

  - ``__call__(x, training=False)``: the float32 video in [-1, 1], i.e.
    ``model(x, training=training)`` for the model's main input (see
    :func:`call_input`); traced for ``training`` False and True (True uses
    batch statistics and updates the batch-norm moving averages);
  - ``variables`` / ``trainable_variables``: the generator-side variables
    (those the exported functions read; never the discriminator's) and the
    subset Keras trains, so the module can be fine-tuned;
  - ``regularization_losses``: an empty list (TF2 Hub format);
  - ``metadata()``: a ``tf.function`` without inputs returning constant
    tensors (interface, model_name, latent_dim, latent_distribution,
    call_input, signatures_json, config_json, zoo_version, and card_json: the model card,
    where the export was given one) -- readable after ``hub.load`` without
    touching files (:func:`read_metadata`);
  - ``config_asset``: the tracked ``assets/zoo_config.json`` (``asset_path``);
    ``card_asset``: ``assets/model_card.json``, where there is a card.

Writes are atomic: a version is built in ``<base>/<name>/.tmp-<version>-<random>``
and renamed into place at the end; a failure removes the temporary folder and
an existing version is never overwritten. Paths may be any ``tf.io.gfile``
path (on object stores such as GCS the final rename is a copy, so there it is
atomic only as far as TF Serving ignores the ``.tmp-*`` name).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

import zoo
from export import serving
from export.serving import MODELS_CONFIG, existing_versions
from zoo import contract, files, layers
from zoo.contract import Signature

#: ``metadata()["interface"]`` of a serving export (image-generator modules: ``export.hub.INTERFACE``).
SERVING_INTERFACE = "zoo.saved_model/1"
#: The resolved config inside every serving export (``assets/<CONFIG_ASSET>``).
CONFIG_ASSET = "zoo_config.json"
#: The run's model card inside an export given one (``assets/<CARD_ASSET>``, ``metadata()["card_json"]``).
CARD_ASSET = "model_card.json"
#: Prefix of the temporary folders that atomic writes rename into place.
TMP_PREFIX = files.TMP_PREFIX


# ---------------------------------------------------------------- atomic writes
def _is_url(path: str) -> bool:
    return "://" in path


def is_empty_dir(path: str) -> bool:
    return tf.io.gfile.isdir(path) and not tf.io.gfile.listdir(path)


def check_new_module_dir(path: str, what: str = "") -> str:
    """``path`` (without a trailing "/") if a hub module may be written there: it does not
    exist or is an empty folder; else ``ValueError`` (``what`` names the flag, e.g. "--hub_dir").
    Modules are never overwritten, so callers check this before doing any work."""
    path = os.fspath(path).rstrip("/")
    if tf.io.gfile.exists(path) and not is_empty_dir(path):
        raise ValueError(
            f"{what + ' ' if what else ''}{path} exists and is not empty; hub modules are never "
            "overwritten: choose a new folder"
        )
    return path


@contextlib.contextmanager
def atomic_directory(final_dir: str, tmp_name: Optional[str] = None, replace_empty: bool = False) -> Iterator[str]:
    """Yields a temporary sibling of ``final_dir``; renames it to ``final_dir`` on success.

    The temporary folder is ``<parent>/.tmp-<tmp_name or basename>-<random>``.
    If the body raises, the temporary folder is removed and ``final_dir`` is
    untouched. ``final_dir`` is never overwritten: a ``ValueError`` is raised
    if it exists (an empty folder is accepted and replaced when
    ``replace_empty``).
    """
    final_dir = final_dir.rstrip("/")
    parent, base = os.path.split(final_dir)
    tmp = os.path.join(parent, f"{TMP_PREFIX}{tmp_name or base}-{uuid.uuid4().hex[:8]}")
    tf.io.gfile.makedirs(tmp)
    try:
        yield tmp
        if tf.io.gfile.exists(final_dir):
            if not (replace_empty and is_empty_dir(final_dir)):
                raise ValueError(f"{final_dir} already exists; refusing to overwrite it")
            tf.io.gfile.rmtree(final_dir)
        tf.io.gfile.rename(tmp, final_dir, overwrite=False)
    except BaseException:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.rmtree(tmp)
        raise


def check_extra_files(extra_files: Optional[Mapping[str, Any]]) -> Dict[str, bytes]:
    """``{relative path: str | bytes}`` -> ``{normalized relative path: bytes}``; ``ValueError`` for escaping paths."""
    checked = {}
    for rel, content in (extra_files or {}).items():
        norm = os.path.normpath(rel)
        if os.path.isabs(rel) or _is_url(rel) or norm == "." or norm.startswith(".."):
            raise ValueError(
                f"extra_files key {rel!r}: expected a path relative to the export folder "
                "(e.g. 'assets.extra/tf_serving_warmup_requests')"
            )
        checked[norm] = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    return checked


def _write_extra_files(export_dir: str, extra_files: Mapping[str, bytes]) -> None:
    for rel, content in extra_files.items():
        path = os.path.join(export_dir, rel)
        tf.io.gfile.makedirs(os.path.dirname(path))
        with tf.io.gfile.GFile(path, "wb") as f:
            f.write(content)


# ---------------------------------------------------------------- served inputs
def describe_spec(spec: tf.TensorSpec) -> str:
    """``float32 [None, 8]``: how a spec reads in error messages."""
    dims = "unknown rank" if spec.shape.rank is None else str(spec.shape.as_list())
    return f"{spec.dtype.name} {dims}"


def checked_input(x: tf.Tensor, name: str, spec: tf.TensorSpec, where: str) -> tf.Tensor:
    """``x`` behind a runtime assertion that its shape matches ``spec``.

    Inside a traced function the static shape is the spec's, but a served
    tensor (TF Serving's C++ session, a restored signature called eagerly)
    is fed without a shape check; the assertion stops it with a message
    naming ``where`` (the signature), the input and the expected spec,
    before any layer sees it. Wrong ranks are caught too (the shape is
    padded before indexing).
    """
    if spec.shape.rank is None:
        return x
    rank = spec.shape.rank
    known = [(i, d) for i, d in enumerate(spec.shape.as_list()) if d is not None]
    shape = tf.shape(x)
    ok = tf.equal(tf.size(shape), rank)
    if known:
        padded = tf.concat([shape, tf.fill([rank], -1)], axis=0)[:rank]
        actual = tf.gather(padded, [i for i, _ in known])
        ok = tf.logical_and(ok, tf.reduce_all(tf.equal(actual, [d for _, d in known])))
    check = tf.debugging.Assert(ok, [f"{where}: input '{name}' must be {describe_spec(spec)}; got shape", shape])
    with tf.control_dependencies([check]):
        return tf.identity(x)


def validate_inputs(function, inputs: Mapping[str, Any], where: str = "signature") -> Dict[str, tf.Tensor]:
    """Checks ``inputs`` against a (loaded) signature's named input specs.

    ``function`` is a concrete function with keyword inputs, e.g.
    ``hub.load(path).signatures["serving_default"]``. Returns the inputs as
    tensors. Raises ``ValueError`` naming the input, the expected spec and
    what came, for a missing or unexpected name, a wrong dtype (never cast
    silently, like TF Serving) or an incompatible shape.
    """
    specs = function.structured_input_signature[1]
    missing = sorted(set(specs) - set(inputs))
    unexpected = sorted(set(inputs) - set(specs))
    if missing or unexpected:
        raise ValueError(
            f"{where}: expected inputs {sorted(specs)}, got {sorted(inputs)} "
            f"(missing {missing}, unexpected {unexpected})"
        )
    tensors = {}
    for name, spec in specs.items():
        value = inputs[name]
        tensor = value if isinstance(value, tf.Tensor) else tf.convert_to_tensor(np.asarray(value))
        if tensor.dtype != spec.dtype or not spec.shape.is_compatible_with(tensor.shape):
            raise ValueError(
                f"{where}: input '{name}' must be {describe_spec(spec)}, "
                f"got {tensor.dtype.name} {tensor.shape.as_list()}"
            )
        tensors[name] = tensor
    return tensors


def run_signature(loaded, inputs: Mapping[str, Any], signature_name: str = "serving_default") -> Dict[str, tf.Tensor]:
    """Runs one signature of a loaded export on validated ``inputs`` (a Python stand-in for Predict)."""
    if signature_name not in loaded.signatures:
        raise ValueError(f"no signature {signature_name!r}; expected one of {sorted(loaded.signatures)}")
    function = loaded.signatures[signature_name]
    return function(**validate_inputs(function, inputs, where=f"signature '{signature_name}'"))


# ---------------------------------------------------------------- the exported module
def metadata_function(values: Mapping[str, Any]) -> tf.types.experimental.GenericFunction:
    """A ``tf.function`` without inputs returning ``values`` as constant tensors.

    Constants, not variables: metadata can be read after ``hub.load`` without
    files, never shows up among the module's variables, and cannot be
    assigned or trained by accident.
    """
    frozen = dict(values)

    @tf.function(input_signature=[])
    def metadata():
        return {k: tf.constant(v) for k, v in frozen.items()}

    metadata.get_concrete_function()
    return metadata


def read_metadata(loaded) -> Dict[str, Any]:
    """``loaded.metadata()`` as Python values (str, int, tuple of ints)."""
    if not hasattr(loaded, "metadata"):
        raise ValueError("this SavedModel has no metadata() function: it was not written by export/")
    out = {}
    for key, tensor in loaded.metadata().items():
        value = tensor.numpy()
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, np.ndarray):
            value = tuple(value.tolist())
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def _tf_variable(v) -> tf.Variable:
    """The ``tf.Variable`` behind a Keras 3 variable (what traced functions capture)."""
    return v.value if isinstance(v, keras.Variable) else v


def captured_variables(functions: Iterable) -> List[tf.Variable]:
    """The variables the concrete ``functions`` read, deduplicated, sorted by name."""
    found: Dict[int, tf.Variable] = {}
    for fn in functions:
        for v in fn.variables:
            found.setdefault(id(v), v)
    return sorted(found.values(), key=lambda v: v.name)


def signature_function(name: str, signature: Signature, encoded_outputs: bool = False):
    """``signature`` as a concrete function with named inputs and named outputs.

    Each input passes :func:`checked_input`; the outputs are the dict the
    zoo function returns (their keys become the SignatureDef output names),
    plus, with ``encoded_outputs``, a PNG twin of each uint8 video or image
    (``export.serving.encoded_outputs``).
    """
    specs = {key: tf.TensorSpec(spec.shape, spec.dtype, name=key) for key, spec in signature.inputs.items()}

    def serve(**inputs):
        inputs = {k: checked_input(v, k, specs[k], f"signature '{name}'") for k, v in inputs.items()}
        outputs = signature.fn(**inputs)
        if not isinstance(outputs, Mapping):
            raise ValueError(f"signature {name!r} must return a dict of named tensors, got {type(outputs)}")
        return serving.encoded_outputs(outputs) if encoded_outputs else dict(outputs)

    try:
        return tf.function(serve).get_concrete_function(**specs)
    except Exception as e:  # noqa: BLE001 - any tracing failure is reported with the signature's spec
        raise ValueError(
            f"signature {name!r} cannot be traced with inputs { {k: describe_spec(s) for k, s in specs.items()} }: {e}"
        ) from e


class ExportedModule(tf.Module):
    """What an export saves: a reusable SavedModel in the TF2 Hub format.

    ``variables`` and ``trainable_variables`` are explicit lists here (they
    shadow ``tf.Module``'s computed properties) because the TF2 Hub format
    requires them as saved attributes.
    """

    variables = None
    trainable_variables = None

    def __init__(
        self,
        call: Callable,
        call_spec: tf.TensorSpec,
        trainable: Sequence,
        metadata: Mapping[str, Any],
        assets: Mapping[str, str] = (),
        extra_functions: Sequence = (),
        name: Optional[str] = None,
    ):
        """Traces ``call(x, training)`` for both ``training`` values on ``call_spec``.

        Args:
          call: ``(x, training) -> tensor`` or a dict of tensors (a classifier's
            logits and features), returned as float32.
          call_spec: the input spec of ``__call__`` (its name is the argument's), or a
            dict of named specs: ``__call__`` then takes a dict of tensors.
          trainable: variables (Keras or tf) that fine-tuning may change.
          metadata: constants returned by ``metadata()``.
          assets: ``{attribute: local file}``: each file is copied to ``assets/``
            and tracked as that attribute (``loaded.<attribute>.asset_path``).
          extra_functions: other concrete functions saved with the module (its
            signatures): their variables are part of ``variables`` as well.
        """
        super().__init__(name=name)
        if isinstance(call_spec, Mapping):  # several named inputs (a conditional generator's z and label)
            spec = {k: tf.TensorSpec(v.shape, v.dtype, name=k) for k, v in call_spec.items()}

            def checked(x):
                return {k: checked_input(x[k], k, s, "__call__") for k, s in spec.items()}
        else:
            input_name = call_spec.name or "x"
            spec = tf.TensorSpec(call_spec.shape, call_spec.dtype, name=input_name)

            def checked(x):
                return checked_input(x, input_name, spec, "__call__")

        @tf.function
        def __call__(x, training=False):
            return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), call(checked(x), training))

        traced = [__call__.get_concrete_function(spec, training) for training in (False, True)]
        self.__call__ = __call__
        all_vars = captured_variables(list(traced) + list(extra_functions))
        trainable_ids = {id(_tf_variable(v)) for v in trainable}
        self.variables = all_vars
        self.trainable_variables = [v for v in all_vars if id(v) in trainable_ids]
        self.regularization_losses = []
        self.metadata = metadata_function(metadata)
        for attribute, path in dict(assets).items():
            setattr(self, attribute, tf.saved_model.Asset(path))


def save_module(
    module: ExportedModule,
    export_dir: str,
    signatures: Mapping[str, Any],
    extra_files: Optional[Mapping[str, Any]] = None,
) -> None:
    """``tf.saved_model.save`` (which copies the tracked assets) plus ``extra_files``, into ``export_dir``."""
    tf.saved_model.save(module, export_dir, signatures=dict(signatures))
    _write_extra_files(export_dir, check_extra_files(extra_files))


@contextlib.contextmanager
def staged_json(filename: str, text: str) -> Iterator[str]:
    """A local file holding ``text`` (the source ``tf.saved_model.Asset`` copies into ``assets/``)."""
    with tempfile.TemporaryDirectory(prefix="zoo-export-") as tmp:
        path = os.path.join(tmp, filename)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        yield path


# ---------------------------------------------------------------- serving export
def call_input(model) -> Tuple[str, object]:
    """The (name, spec) of what ``model(x)`` takes, from what the model declares
    (``call_inputs()``): one named input is that tensor's spec; several are a dict of specs,
    named ``inputs`` (MVT: z and label)."""
    specs = dict(model.call_inputs())  # non-empty (contract.check)
    if len(specs) == 1:
        return next(iter(specs.items()))
    return "inputs", specs


def next_version(base_dir: str, name: str) -> int:
    """1 + the largest existing version of ``<base_dir>/<name>``, 1 for the first."""
    versions = existing_versions(os.path.join(base_dir, name))
    return versions[-1] + 1 if versions else 1


def check_name(name: str) -> str:
    """``name`` if it can be a TF Serving model folder (not a version, not hidden), else ``ValueError``."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name.isdigit():
        raise ValueError(
            f"model name {name!r}: expected a folder name that is not all digits and "
            "does not start with '.' (e.g. 'vgan')"
        )
    return name


def check_version(version) -> int:
    if isinstance(version, bool) or not str(version).isdigit() or int(version) < 1:
        raise ValueError(f"version {version!r}: expected a positive integer")
    return int(version)


def export_saved_model(
    model,
    base_dir: str,
    name: Optional[str] = None,
    version: Optional[int] = None,
    extra_files: Optional[Mapping[str, Any]] = None,
    card: Optional[Mapping[str, Any]] = None,
    serving_root: str = serving.DEFAULT_SERVING_ROOT,
    encoded_outputs: bool = True,
) -> str:
    """Exports ``model``'s signatures as ``<base_dir>/<name>/<version>/`` and refreshes ``models.config``.

    Args:
      model: a zoo model: ``model.signatures()``, ``model(x, training=...)``,
        ``model.config`` (see ``zoo.gan.AdversarialModel``).
      base_dir: the TF Serving model base folder (any ``tf.io.gfile`` path).
      name: the model folder; defaults to ``model.config.export_name`` (the model's name;
        ``<model>_image`` for step one of a two-step model).
      version: a positive integer; defaults to the largest existing version + 1
        (1 for the first). An existing version is never overwritten.
      extra_files: ``{path relative to the version folder: str | bytes}``;
        one named ``assets.extra/tf_serving_warmup_requests`` replaces the
        written warmup requests.
      card: the run's model card (``export.card.run_card``), kept as
        ``assets/model_card.json`` and ``metadata()["card_json"]``.
      serving_root: where the model server sees ``base_dir``: ``models.config``
        names ``<serving_root>/<name>`` (``export.serving``; default ``/models``,
        the container's mount point).
      encoded_outputs: add ``<output>_png_bytes`` beside every uint8 video or image
        output, for REST clients (``export.serving``).

    Returns:
      The path of the new version folder. See the module docstring for its
      contents. Raises ``ValueError`` for a bad name/version, an existing
      version, or a signature that does not trace with its declared inputs.
    """
    config = model.config
    name = check_name(name if name is not None else config.export_name)
    check_extra_files(extra_files)
    serving.check_serving_root(serving_root)
    model_dir = os.path.join(base_dir, name)
    version = next_version(base_dir, name) if version is None else check_version(version)
    export_dir = os.path.join(model_dir, str(version))
    if tf.io.gfile.exists(export_dir):
        raise ValueError(
            f"{export_dir} already exists; versions are never overwritten "
            f"(existing versions: {existing_versions(model_dir)})"
        )

    with atomic_directory(export_dir, tmp_name=str(version)) as tmp:
        save_model_module(model, tmp, name=name, extra_files=extra_files, card=card, encoded_outputs=encoded_outputs)
        signatures = model.signatures()
        specs = {n: dict(s.inputs) for n, s in signatures.items()}
        examples = dict(
            roles={n: dict(s.roles) for n, s in signatures.items()}, latent_distribution=str(model.latent_distribution)
        )  # drawn as the model samples
        serving.write_rest_bodies(tmp, specs, **examples)
        if serving.WARMUP_FILE not in check_extra_files(extra_files):
            serving.write_warmup(tmp, serving.warmup_records(name, specs, **examples))
    write_models_config(base_dir, serving_root)
    return export_dir


def save_model_module(
    model,
    out_dir: str,
    name: Optional[str] = None,
    extra_files: Optional[Mapping[str, Any]] = None,
    card: Optional[Mapping[str, Any]] = None,
    encoded_outputs: bool = False,
) -> None:
    """Writes ``model``'s export (signatures, ``__call__``, variables, metadata, config
    asset, the card if any; see the module docstring) into the existing folder ``out_dir``
    (not atomic: callers write into a temporary folder, see :func:`export_saved_model`)."""
    with layers.unsynchronized_batch_norm(model):  # traced without the replica all-reduce
        _save_model_module(model, out_dir, name, extra_files, card, encoded_outputs)


def _save_model_module(model, out_dir, name, extra_files, card, encoded_outputs) -> None:
    signatures = contract.check(model)
    config = model.config
    name = name or config.export_name
    concrete = {n: signature_function(n, s, encoded_outputs) for n, s in signatures.items()}
    input_name, input_spec = call_input(model)
    config_json = zoo.to_json(config)
    metadata = {
        "interface": SERVING_INTERFACE,
        "model_name": config.model_name,
        "latent_dim": int(model.latent_dim),
        "latent_distribution": str(model.latent_distribution),
        "call_input": input_name,
        "signatures_json": json.dumps(
            {
                n: {
                    "inputs": {k: describe_spec(v) for k, v in s.inputs.items()},
                    "roles": dict(s.roles),
                    "doc": s.doc,
                    **({} if s.walk_sigma is None else {"walk_sigma": float(s.walk_sigma)}),
                }
                for n, s in signatures.items()
            },
            sort_keys=True,
        ),
        "config_json": config_json,
        "zoo_version": zoo.__version__,
    }
    # Model-specific constants (a classifier's architecture, classes, input shape).
    metadata.update(model.export_metadata())
    with contextlib.ExitStack() as stack:
        assets = {"config_asset": stack.enter_context(staged_json(CONFIG_ASSET, config_json))}
        card_metadata, card_assets = card_parts(card, stack)
        metadata.update(card_metadata)
        assets.update(card_assets)
        module = ExportedModule(
            call=lambda x, training: model(x, training=training),
            call_spec=input_spec
            if isinstance(input_spec, Mapping)
            else tf.TensorSpec(input_spec.shape, input_spec.dtype, name=input_name),
            trainable=model.trainable_variables,
            metadata=metadata,
            assets=assets,
            extra_functions=list(concrete.values()),
            name=f"{name}_export",
        )
        save_module(module, out_dir, concrete, extra_files=extra_files)


def card_parts(card: Optional[Mapping[str, Any]], stack: contextlib.ExitStack) -> Tuple[Dict[str, str], Dict[str, str]]:
    """What a model card adds to an exported module: ``({"card_json": ...}, {"card_asset":
    staged file})``, both empty without a card. The staged file lives as long as ``stack``."""
    if card is None:
        return {}, {}
    text = json.dumps(dict(card), indent=1, sort_keys=True)
    return {"card_json": text}, {"card_asset": stack.enter_context(staged_json(CARD_ASSET, text))}


# ---------------------------------------------------------------- older exports
def repair_second_order_gradients(export_dir: str) -> List[str]:
    """Makes an export written before ``zoo.layers.unsynchronized_batch_norm`` differentiable twice.

    Such an export traced Keras' synchronized batch norm: the default replica context's
    all-reduce, an identity with a custom gradient whose gradient function calls it again. The
    SavedModel kept the first gradient function but not the second, so loading warned once per
    batch norm and a gradient of a gradient in training mode failed. This removes the custom-
    gradient mark of the ``IdentityN`` nodes inside saved gradient functions
    (``internal_grad_fn``) whose gradient was not saved, leaving them the identity's own
    gradient, which is that all-reduce's; forward functions and variables are untouched. The
    fingerprint is computed again. Returns the files rewritten (none if there was nothing to do)."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    path = os.path.join(export_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    changed = 0
    for graph in proto.meta_graphs:
        library = graph.graph_def.library
        saved = {g.registered_op_type for g in library.registered_gradients}
        for function in library.function:
            if "internal_grad_fn" not in function.signature.name:
                continue
            for node in function.node_def:
                mark = node.attr.get("_gradient_op_type")
                if node.op == "IdentityN" and mark is not None and mark.s.decode() not in saved:
                    del node.attr["_gradient_op_type"]
                    changed += 1
    if not changed:
        return []
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    with open(os.path.join(export_dir, "fingerprint.pb"), "wb") as f:
        f.write(fingerprinting.CreateFingerprintDef(export_dir))
    return ["fingerprint.pb", "saved_model.pb"]


def rewrite_examples(export_dir: str) -> List[str]:
    """Writes an export's example requests again (``assets.extra/rest/*.json`` and the warmup
    requests, where it has them) as :func:`export_saved_model` writes them now, with the roles
    and latent distribution its metadata declares (an export written before drew its latents
    from U[0, 1)). Returns the files that changed."""
    rest_dir = os.path.join(export_dir, serving.REST_DIR)
    if not tf.io.gfile.isdir(rest_dir):
        return []
    loaded = tf.saved_model.load(export_dir)
    meta = read_metadata(loaded)
    declared = json.loads(meta.get("signatures_json") or "{}")
    specs = serving.signature_specs(loaded)
    examples = dict(
        roles={n: declared.get(n, {}).get("roles", {}) for n in specs},
        latent_distribution=meta.get("latent_distribution"),
    )
    files = sorted(os.path.join(serving.REST_DIR, f"{n}.json") for n in specs)
    warmup = os.path.join(export_dir, serving.WARMUP_FILE)
    if tf.io.gfile.exists(warmup):
        files.append(serving.WARMUP_FILE)
    before = {rel: _read_bytes(os.path.join(export_dir, rel)) for rel in files}
    serving.write_rest_bodies(export_dir, specs, **examples)
    if serving.WARMUP_FILE in files:
        name = serving.read_warmup(export_dir)[0].model_spec.name
        serving.write_warmup(export_dir, serving.warmup_records(name, specs, **examples))
    return [rel for rel in files if _read_bytes(os.path.join(export_dir, rel)) != before[rel]]


def _read_bytes(path: str) -> Optional[bytes]:
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------- models.config
def write_models_config(base_dir: str, serving_root: str = serving.DEFAULT_SERVING_ROOT) -> str:
    """Writes (atomically) ``<base_dir>/models.config`` listing every model folder at
    ``<serving_root>/<name>``, after checking it against the layout
    (``export.serving.check_models_config``); returns its path."""
    text = serving.models_config_text(base_dir, serving_root)
    serving.check_models_config(text, base_dir, serving_root)
    path = os.path.join(base_dir, MODELS_CONFIG)
    return files.write_atomically(path, text)
