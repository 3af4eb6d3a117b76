"""The registry: presets, overrides, validation, and configs that rebuild models."""

import dataclasses
import json
from typing import ClassVar

import pytest

import zoo
from zoo import config as config_lib


def test_registry_lists_vgan_and_its_presets():
    assert "vgan" in zoo.names()
    for preset in ("paper", "small", "tiny"):
        assert zoo.resolve("vgan", preset).preset == preset
    paper = zoo.resolve("vgan", "paper")
    assert (paper.frames, paper.size, paper.latent_dim, zoo.resolve_run("vgan", "paper").batch_size) == (
        32,
        64,
        100,
        64,
    )
    assert paper.hidden_channels == (512, 256, 128, 64)


def test_overrides_are_coerced_and_validated():
    cfg = zoo.resolve("vgan", "tiny", frames="16", future="true", mask_weight="0.5")
    assert (cfg.frames, cfg.future, cfg.mask_weight) == (16, True, 0.5)
    with pytest.raises(ValueError, match="has no field 'framez'"):
        zoo.resolve("vgan", "tiny", framez=3)
    with pytest.raises(ValueError, match="size must be 4 \\* 2\\*\\*k"):
        zoo.resolve("vgan", "tiny", size=24)
    with pytest.raises(ValueError, match="frames must be a positive multiple of 4"):
        zoo.resolve("vgan", "tiny", frames=6)
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        zoo.resolve("vgan", "huge")
    with pytest.raises(ValueError, match="unknown model 'vgan2'"):
        zoo.resolve("vgan2", "tiny")
    with pytest.raises(ValueError, match="VGANConfig.frames: expected int"):
        zoo.resolve("vgan", "tiny", frames="many")


def test_saved_config_rebuilds_the_same_model():
    cfg = zoo.resolve("vgan", "tiny", streams=1, seed=3)
    d = json.loads(zoo.to_json(cfg))
    assert d["model"] == "vgan"
    assert zoo.from_dict(d) == cfg
    a, b = zoo.build("vgan", preset="tiny", streams=1, seed=3), zoo.build_from_dict(d)
    assert [v.path for v in a.weights] == [v.path for v in b.weights]
    assert [tuple(v.shape) for v in a.weights] == [tuple(v.shape) for v in b.weights]
    with pytest.raises(ValueError):
        zoo.from_dict({"model": "vgan", "nonsense": 1})


@pytest.mark.parametrize("name", ["vgan", "tgan", "mvt", "stgan", "traversal"])
def test_every_gan_chooses_its_convolutions_by_measurement_unless_forced(name):
    """conv_impl="auto" is every GAN's default; a forced implementation is a config field (a
    trainer flag), and an unknown one names the choices."""
    assert zoo.resolve(name, "tiny").conv_impl == "auto"
    assert zoo.resolve(name, "tiny", conv_impl="stride1").conv_impl == "stride1"
    with pytest.raises(ValueError, match=r"conv_impl must be one of \('auto', 'keras', 'stride1'\), got 'fft'"):
        zoo.resolve(name, "tiny", conv_impl="fft")


def test_field_docs_come_from_the_comments_of_the_config_source():
    docs = config_lib.field_docs(zoo.entry("tgan").config_cls)
    assert docs["d_noise"].startswith("stddev of the Gaussian noise on every D layer's input")
    assert docs["frames"].startswith("T;")  # the comment after the field
    docs = config_lib.field_docs(zoo.entry("stgan").config_cls)
    assert docs["layers"].startswith("The convolutions after the reshape")  # the comment lines above it
    assert set(docs) == {f.name for f in dataclasses.fields(zoo.entry("stgan").config_cls)}


def test_trainer_flag_help_says_what_a_field_means_and_allows():
    from trainers import common

    cls = zoo.entry("tgan").config_cls
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert common.config_flag_help(cls, fields["loss"], "non_saturating") == (
        "G's loss: -log D(G(z)) as the authors' code; \"minimax\": eq. 1 as printed; one of hinge, minimax, "
        "non_saturating, wasserstein. Default: 'non_saturating' (--preset=small's; each preset sets its own)."
    )
    assert common.config_flag_help(cls, fields["g_learning_rate"], 2e-4).startswith(
        "Adam learning rate of the generator"
    )


def test_every_config_field_is_documented_in_whole_sentences():
    for name in zoo.names():
        for cls in (zoo.entry(name).config_cls, zoo.entry(name).config_cls.run_config):
            docs = config_lib.field_docs(cls)
            for field in dataclasses.fields(cls):
                doc = docs.get(field.name, "")
                assert doc and not doc.startswith("...") and not doc.endswith("..."), (name, field.name, doc)
    tgan = config_lib.field_docs(zoo.entry("tgan").config_cls)  # one comment above two fields documents both
    assert tgan["image_features_handle"] == tgan["image_generator_handle"] != ""
    assert not config_lib.field_docs(zoo.entry("c3d").config_cls)["size"].startswith("Fields")  # not a ClassVar's


# ------------------------------------------------ what a config class declares
def test_every_registered_config_declares_its_pretrained_pieces_as_data():
    declared = {}
    for name in zoo.names():
        cls = zoo.entry(name).config_cls
        assert issubclass(cls, config_lib.ModelConfig) and cls.model_name == name
        fields = {f.name for f in dataclasses.fields(cls)}
        for piece in cls.pieces:
            assert piece.field in fields and piece.interface in config_lib.PIECE_INTERFACES
            # a field, or a property derived from fields (TGAN's G1 takes K0 + K1 with its content code)
            assert (
                not piece.latent_dim_field
                or piece.latent_dim_field in fields
                or isinstance(getattr(cls, piece.latent_dim_field), property)
            )
        declared[name] = {(p.field, p.interface, p.trainable) for p in cls.pieces}
        assert zoo.resolve(name, "tiny").dtype_policy in ("float32", "mixed_bfloat16", "mixed_float16")
    assert declared["tgan"] == {
        ("image_generator_handle", "image_generator", "batch_norm"),
        ("image_features_handle", "image_features", "batch_norm"),
    }
    assert declared["traversal"] == {("image_generator_handle", "image_generator", "none")}
    assert declared["stgan"] == {("source_generator_handle", "image_generator_layers", "batch_norm")}
    assert declared["mvt"] == {("flow_handle", "optical_flow", "none")}
    assert declared["vgan"] == set() and declared["c3d"] == set()


def test_registering_a_piece_that_names_no_field_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Toy(config_lib.ModelConfig):
        model_name: ClassVar[str] = "toy"
        pieces: ClassVar[tuple] = (config_lib.PretrainedPiece("g_handle", "g", "image_generator"),)
        seed: int = 0

    presets = {p: {} for p in ("paper", "small", "tiny")}
    with pytest.raises(ValueError, match=r"names config fields \['g_handle'\]"):
        config_lib.ModelEntry("toy", Toy, presets, lambda c: None)
    with pytest.raises(ValueError, match="interface must be one of"):
        config_lib.PretrainedPiece("g_handle", "g", "video_generator")

    @dataclasses.dataclass(frozen=True)
    class Plain:
        seed: int = 0

    with pytest.raises(ValueError, match="must derive from zoo.config.ModelConfig"):
        config_lib.ModelEntry("plain", Plain, presets, lambda c: None)
    assert "toy" not in zoo.names() and "plain" not in zoo.names()


# ------------------------------------------------ run settings (zoo.config.RunConfig)
def test_run_settings_are_apart_from_the_model_config():
    """The batch and STGAN's AM are how a run trains, not what the model is: presets give both,
    the model's config has neither, and asking the model's config for one names where it went."""
    for name in zoo.names():
        fields = {f.name for f in dataclasses.fields(zoo.entry(name).config_cls)}
        assert "batch_size" not in fields and not any(f.startswith("am_") for f in fields), name
    assert zoo.resolve_run("vgan", "small").batch_size == 16
    cfg, run = zoo.resolve_with_run("vgan", "tiny", streams=1, batch_size=2)
    assert (cfg.streams, run.batch_size) == (1, 2)
    with pytest.raises(ValueError, match=r"\['batch_size'\] of model 'vgan' are run settings .*zoo.resolve_run"):
        zoo.resolve("vgan", "tiny", batch_size=2)
    with pytest.raises(ValueError, match="RunConfig: batch_size must be >= 1, got 0"):
        zoo.resolve_run("vgan", "tiny", batch_size=0)
    am = zoo.resolve_run("stgan", "tiny", am_iterations=3)
    assert (am.batch_size, am.am_iterations, am.am_batch_size) == (4, 3, 2)
    with pytest.raises(ValueError, match="STGANRunConfig: am_stop_probability must be in"):
        zoo.resolve_run("stgan", "tiny", am_stop_probability=0.0)
    # the traversal GAN's batch follows its stage (section 3) unless given
    video = zoo.resolve("traversal", "paper", stage="video")
    assert zoo.resolve_run("traversal", "paper", video).batch_size == 8
    assert zoo.resolve_run("traversal", "paper", video, batch_size=3).batch_size == 3


def test_a_config_saved_by_an_older_zoo_still_rebuilds():
    """Exports and run folders written before run settings left the model configs carry them
    (and TGAN's and the traversal GAN's long_sigma, now their long_video's walk_sigma)."""
    old = {**zoo.to_dict(zoo.resolve("tgan", "tiny", stage="video")), "batch_size": 2, "long_sigma": 0.3}
    assert zoo.from_dict(old) == zoo.resolve("tgan", "tiny", stage="video")
    old_stgan = {**zoo.to_dict(zoo.resolve("stgan", "tiny", stage="video")), "batch_size": 4, "am_iterations": 7}
    cfg = zoo.from_dict(old_stgan)
    assert cfg == zoo.resolve("stgan", "tiny", stage="video")
    assert zoo.run_from_dict(cfg, old_stgan).am_iterations == 7  # what the older config said
    assert zoo.run_from_dict(cfg, {}).am_iterations == 10  # else the preset's
    assert "batch_size" not in zoo.to_dict(cfg) and "long_sigma" not in zoo.to_dict(zoo.resolve("tgan", "tiny"))
