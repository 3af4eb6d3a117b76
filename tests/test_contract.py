"""The contract every registered model keeps with the trainers and the exporter, checked by
looping over the registry: a model added to zoo is checked here with no test of its own.

Per model (and per stage of a two-step model), at its ``tiny`` preset with no pretrained
pieces: its config derives from ``zoo.config.ModelConfig`` and names its export folder; the
model declares ``serving_default`` and what ``model(x)`` takes; it exports as a SavedModel,
reloads, and every served signature runs on inputs drawn from its specs alone; and a
generating model writes videos (or a step-one model images) through ``trainers.generate``."""

import os

import numpy as np
import pytest
import tensorflow as tf

import export
import zoo
from export import runs, saved_model, serving
from trainers import generate
from zoo import config as config_lib
from zoo import contract

CASES = [
    (name, stage) for name in zoo.names() for stage in (zoo.entry(name).config_cls.choices.get("stage") or (None,))
]


@pytest.mark.slow
@pytest.mark.parametrize("name, stage", CASES, ids=[f"{n}:{s}" if s else n for n, s in CASES])
def test_every_registered_model_keeps_the_contract(name, stage, tmp_path):
    check_contract(name, stage, tmp_path)


def check_contract(name, stage, tmp_path):
    """The checks above for registered model ``name`` (at ``stage``, or None)."""
    cfg = zoo.resolve(name, "tiny", **({"stage": stage} if stage else {}))
    assert isinstance(cfg, config_lib.ModelConfig) and cfg.model_name == name
    assert cfg.export_name == (f"{name}_image" if stage == "image" else name)
    model = runs.build_model(cfg)
    signatures = contract.check(model)  # ValueError naming what is missing
    assert "serving_default" in signatures and all(isinstance(s, contract.Signature) for s in signatures.values())
    assert all(set(s.roles) == set(s.inputs) for s in signatures.values())
    input_name, input_spec = saved_model.call_input(model)
    specs = input_spec if isinstance(input_spec, dict) else {input_name: input_spec}
    assert all(isinstance(s, tf.TensorSpec) for s in specs.values())
    generating = "video" not in signatures["serving_default"].roles.values()  # not a classifier of clips
    if generating:
        assert model.samples_from_data is False  # tiny presets draw their grids from latents
        sample = model.sample_inputs(2, tf.constant([0, 1], tf.int64))
        video = model.generate(sample, training=False)["video"]
        assert video.shape[0] == 2 and np.isfinite(video.numpy()).all()

    path = export.export_saved_model(model, str(tmp_path / "exports"))
    assert os.path.dirname(os.path.dirname(path)).endswith("exports") and f"/{cfg.export_name}/1" in path
    loaded = export.load(path)
    assert set(loaded.signatures) == set(signatures)
    meta = export.read_metadata(loaded)
    for sig_name, sig in signatures.items():  # a random walk's step travels with its signature
        assert generate.declared_walk_sigma(meta, sig_name) == sig.walk_sigma, (name, sig_name)
    assert "batch_size" not in meta["config_json"]  # an export serves the model, not its run
    for sig_name, sig_specs in serving.signature_specs(loaded).items():
        out = loaded.signatures[sig_name](**{k: tf.constant(v) for k, v in serving.example_inputs(sig_specs).items()})
        assert out and all(
            np.isfinite(np.asarray(v, np.float64)).all() for k, v in out.items() if not k.endswith("_png_bytes")
        ), (name, sig_name)

    if generating:  # the other signatures ran above; trainers.generate's own tests drive them too
        paths = generate.generate(path, str(tmp_path / "videos"), "serving_default", num_videos=2)
        assert len(paths) == 3 and all(os.path.getsize(p) > 0 for p in paths), name


def test_the_contract_check_names_what_a_model_lacks():
    """contract.check refuses what export would otherwise trip over later: a model that is no
    ExportableModel, a signature input without a role, a role the callers cannot draw."""
    import keras

    class NotAZooModel(keras.Model):
        pass

    with pytest.raises(ValueError, match="does not derive from zoo.contract.ExportableModel"):
        contract.check(NotAZooModel())

    model = zoo.build("vgan", preset="tiny")
    spec = {"z": tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")}
    fn = model.signatures()["serving_default"].fn

    def with_roles(roles):
        return lambda: {"serving_default": contract.Signature(fn=fn, inputs=spec, roles=roles)}

    model.signatures = with_roles({})
    with pytest.raises(ValueError, match=r"signature 'serving_default' must give every input a role"):
        contract.check(model)
    model.signatures = with_roles({"z": "noise"})
    with pytest.raises(ValueError, match=r"roles \{'z': 'noise'\}"):
        contract.check(model)
    model.signatures = with_roles({"z": "latent"})
    assert set(contract.check(model)) == {"serving_default"}
    # a random walk's input must come with the step it is meant to be fed
    walk = {"z": tf.TensorSpec([None, 3, model.latent_dim], tf.float32, name="z")}
    model.signatures = lambda: {"serving_default": contract.Signature(fn=fn, inputs=walk, roles={"z": "latent_walk"})}
    with pytest.raises(ValueError, match=r"latent_walk inputs \['z'\] and must declare their step, walk_sigma"):
        contract.check(model)


def test_the_contract_check_names_what_the_trainer_lacks():
    """The trainer's part of the contract (zoo.contract.Trainable): check names every member a
    model lacks, and a real_batches_per_step() the trainer cannot feed."""
    import keras

    vgan = zoo.build("vgan", preset="tiny")

    class Untrained(contract.ExportableModel, keras.Model):
        def __init__(self):
            super().__init__(name="untrained")
            self.config = vgan.config

        def signatures(self):
            return vgan.signatures()

        def sample_inputs(self, batch_size, seed):
            return vgan.sample_inputs(batch_size, seed)

    with pytest.raises(
        ValueError,
        match=r"'untrained' lacks what the trainer uses \(zoo.contract.Trainable\): "
        r"self.trackers .*; train_step\(data\); generate\(inputs, training\)",
    ):
        contract.check(Untrained())
    vgan.real_batches_per_step = lambda: 0
    with pytest.raises(ValueError, match=r"real_batches_per_step\(\) must be an int >= 1, got 0"):
        contract.check(vgan)
