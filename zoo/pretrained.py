"""The shipped modules (``pretrained/<name>/``): found by name from any folder, checked
against their cards, loaded.

A shipped module is a SavedModel folder with a ``card.json`` that lists the SHA-256 and
size of every other file (``export.card.write_pretrained`` writes it). The modules travel
with the package: an installed wheel carries them as ``zoo/_pretrained/<name>/``, a clone
has them in ``pretrained/`` beside ``zoo/``. ``$ZOO_PRETRAINED`` names a folder of
``<name>/`` modules searched first (your own modules, or a copy of the shipped ones).
``python -m trainers.generate --model=vgan_bouncing_balls`` and every other command line
that takes a module read a name as one of these; a path is still a path.

    path(name)   the module's folder (a path is returned unchanged)
    load(name)   the module checked against its card and loaded (``tf.saved_model.load``,
                 what ``hub.load`` does with a folder)
    names()      every module found

This module is the one place that checks a module against its card (``verify_files``);
``export.card`` writes cards with the same digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from typing import Any, Dict, Iterator, List, Optional

#: The environment variable naming a folder of modules searched before the shipped ones.
ENV = "ZOO_PRETRAINED"
CARD_JSON = "card.json"
CARD_MD = "card.md"
#: Files of a shipped module that the card describes rather than hashes.
CARD_FILES = (CARD_JSON, CARD_MD)
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
#: Where the shipped modules are: inside an installed wheel, then beside ``zoo/`` in a clone.
SHIPPED_FOLDERS = (os.path.join(_PACKAGE, "_pretrained"), os.path.join(os.path.dirname(_PACKAGE), "pretrained"))


# ------------------------------------------------------------------ finding modules
def roots() -> List[str]:
    """The folders searched for a module name, in order: ``$ZOO_PRETRAINED`` (if set),
    then the shipped modules (the first of :data:`SHIPPED_FOLDERS` that exists)."""
    found = [os.environ[ENV]] if os.environ.get(ENV) else []
    shipped = [f for f in SHIPPED_FOLDERS if os.path.isdir(f)]
    return found + shipped[:1]


def names() -> List[str]:
    """Every module name found in :func:`roots` (a folder holding a ``card.json``), sorted."""
    out = set()
    for root in roots():
        if os.path.isdir(root):
            out.update(n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, CARD_JSON)))
    return sorted(out)


def _is_name(handle: str) -> bool:
    return bool(handle) and os.sep not in handle and "/" not in handle and handle not in (".", "..")


def path(name_or_path: str) -> str:
    """The folder of a module: a local folder or URL as given; a name (no ``/``) that is not
    a folder here, the first ``<root>/<name>`` of :func:`roots` that exists.

    ``ValueError`` for a name found nowhere, listing where it looked and the names there."""
    handle = os.fspath(name_or_path)
    if "://" in handle or os.path.exists(handle) or not _is_name(handle):
        return handle
    for root in roots():
        folder = os.path.join(root, handle)
        if os.path.isdir(folder):
            return folder
    raise ValueError(
        f"{handle!r} is neither a folder nor the name of a shipped module: expected one of "
        f"{names()} (searched {roots() or 'nothing: no pretrained/ folder was found'}; set "
        f"${ENV} to a folder of <name>/ modules to add yours)"
    )


def hint(handle: str) -> str:
    """What to load instead of a local ``handle`` that holds no SavedModel: a shipped module's
    name for a path that ends in one but is not here (``pretrained/vgan_bouncing_balls``
    outside the clone), a version for a TF Serving model folder (``exports/vgan``); else ``""``."""
    handle = os.fspath(handle)
    name = os.path.basename(handle.rstrip("/"))
    if not os.path.exists(handle) and name in names():
        return f"; a shipped module is found from any folder by its name alone: {name}"
    versions = sorted(
        int(n)
        for n in (os.listdir(handle) if os.path.isdir(handle) else [])
        if n.isdigit() and os.path.isdir(os.path.join(handle, n))
    )
    if versions:
        return f"; it is a model folder: load a version, e.g. {os.path.join(handle, str(versions[-1]))}"
    return ""


# ------------------------------------------------------------------ checking modules
def sha256(file_path: str) -> str:
    digest = hashlib.sha256()
    with open(file_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def module_files(folder: str) -> List[str]:
    """Every file of a module folder but its card, relative, with "/", sorted."""
    out = []
    for root, _, files in os.walk(folder):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), folder)
            if rel not in CARD_FILES:
                out.append(rel.replace(os.sep, "/"))
    return sorted(out)


def file_digests(folder: str) -> Dict[str, Dict[str, Any]]:
    """``{relative path: {"sha256", "bytes"}}`` of every file of a module but its card."""
    return {
        rel: {"sha256": sha256(os.path.join(folder, rel)), "bytes": os.path.getsize(os.path.join(folder, rel))}
        for rel in module_files(folder)
    }


def read_card(folder: str) -> Optional[Dict[str, Any]]:
    """``card.json`` of a local module folder, or None where there is none."""
    card_path = os.path.join(folder, CARD_JSON)
    if not os.path.isfile(card_path):
        return None
    try:
        with open(card_path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"module {folder!r}: its {CARD_JSON} cannot be read ({e}); expected the JSON card written with the module"
        ) from e


def verify_files(folder: str) -> None:
    """Checks every file the module's ``card.json`` lists (size, then SHA-256).

    ``ValueError`` naming the module and the first missing, truncated or altered file.
    A folder without a card (any export that is not a shipped module) passes."""
    card = read_card(folder)
    if not card or "files" not in card:
        return
    for rel, expected in sorted(card["files"].items()):
        file_path = os.path.join(folder, rel)
        if not os.path.isfile(file_path):
            raise ValueError(
                f"module {folder!r} is incomplete: file {rel!r} is missing (its card lists "
                f"{len(card['files'])} files); restore the module (reinstall the package, or "
                f"`git checkout -- {folder}` in a clone)"
            )
        size = os.path.getsize(file_path)
        if size != expected["bytes"]:
            raise ValueError(
                f"module {folder!r}: file {rel!r} has {size} bytes, expected {expected['bytes']} "
                "(truncated or replaced); restore the module"
            )
        if sha256(file_path) != expected["sha256"]:
            raise ValueError(
                f"module {folder!r}: file {rel!r} does not match the SHA-256 in its {CARD_JSON}; restore the module"
            )


# ------------------------------------------------------------------ loading modules
_GRADIENT_WARNING = "with ops with unsaved custom gradients"


class _GradientFunctionWarnings(logging.Filter):
    """Holds back TF's "Importing a function (__inference_internal_grad_fn_N) with ops with
    unsaved custom gradients" lines: each is about the gradient function of a custom
    gradient, i.e. about a second-order gradient, while its text says any gradient may fail.
    Warnings about other functions pass."""

    def __init__(self):
        super().__init__()
        self.held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _GRADIENT_WARNING in message and "internal_grad_fn" in message:
            self.held += 1
            return False
        return True


@contextlib.contextmanager
def gradient_warnings_summarized(handle: str) -> Iterator[None]:
    """While loading ``handle``: TF's per-function warnings about gradient functions (one per
    batch norm of an export traced with Keras' synchronized batch norm, as exports were before
    ``zoo.layers.unsynchronized_batch_norm``) become one line that says what does not work:
    second-order gradients through the module's batch statistics. First-order gradients
    (fine-tuning, AM, inversion) work; such a module's higher-order gradients need a new export."""
    held = _GradientFunctionWarnings()
    logger = logging.getLogger("absl")
    logger.addFilter(held)
    try:
        yield
    finally:
        logger.removeFilter(held)
    if held.held:
        logger.warning(
            "module %s: %d gradient functions of its batch norms were saved without their own "
            "gradients: first-order gradients work; a gradient of a gradient through it in training "
            "mode fails (export it again with this zoo for that)",
            handle,
            held.held,
        )


def load(name_or_path: str):
    """A module by name (:func:`path`) or local folder, checked against its card
    (:func:`verify_files`) and loaded with ``tf.saved_model.load`` (as ``hub.load`` loads a
    folder). ``ValueError`` naming the module for a missing or damaged one, or a folder that
    holds no SavedModel (with :func:`hint`)."""
    import tensorflow as tf

    folder = path(name_or_path)
    verify_files(folder)
    if not tf.saved_model.contains_saved_model(folder):
        raise ValueError(f"{folder!r} is not a SavedModel (expected saved_model.pb inside){hint(folder)}")
    with gradient_warnings_summarized(folder):
        return tf.saved_model.load(folder)
