"""Shared fixtures of the export tests: tiny VGANs, their exports, and their exports (the command-line helper
``run_commands`` is in tests/conftest.py).

Exports are session-scoped (each costs seconds on two CPU cores); tests that
change an export (fine-tuning, fit) load their own copy with ``hub.load``,
which never shares variables with other loads.
"""

from __future__ import annotations

import pytest
import tensorflow as tf

import export
import zoo


def prime(model):
    """One training-mode forward pass so the batch-norm moving statistics are not the initial ones."""
    inputs = model.sample_latent(4, 7)
    if model.config.future:
        inputs = tf.random.stateless_uniform(
            [4, model.config.size, model.config.size, model.config.channels], seed=[7, 0], minval=-1.0, maxval=1.0
        )
    model(inputs, training=True)
    return model


@pytest.fixture(scope="session")
def model():
    return prime(zoo.build("vgan", preset="tiny"))


@pytest.fixture(scope="session")
def latent(model):
    return model.sample_latent(3, 11)


@pytest.fixture(scope="session")
def export_base(tmp_path_factory):
    return str(tmp_path_factory.mktemp("exports"))


@pytest.fixture(scope="session")
def exported(model, export_base):
    """The first serving export of ``model``: ``<export_base>/vgan/1``."""
    return export.export_saved_model(model, export_base)


@pytest.fixture(scope="session")
def loaded(exported):
    return export.load(exported)


@pytest.fixture(scope="session")
def future_model():
    # Seeded: its weights must not depend on which tests ran before in this process. An
    # unseeded one sometimes made futures whose frames were all identical, which a GIF
    # stores as one frame (Pillow merges identical consecutive frames; BUILD_NOTES.md).
    import keras

    keras.utils.set_random_seed(1)
    return prime(zoo.build("vgan", preset="tiny", future=True))


@pytest.fixture(scope="session")
def hub_module(model, tmp_path_factory):
    """VGAN's background stream b(z) as an image-generator hub module."""
    return export.export_image_generator(model, str(tmp_path_factory.mktemp("hub") / "background"))
