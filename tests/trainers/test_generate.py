"""trainers.generate draws each served input by the role the export declares for it
(zoo.contract.ROLES); an export of zoo 0.2.0, which declares none, by its input names."""

import json
import types

import numpy as np
import pytest
import tensorflow as tf

from trainers import generate


def _signature(**specs):
    return types.SimpleNamespace(
        structured_input_signature=((), {k: tf.TensorSpec(shape, dtype, name=k) for k, (shape, dtype) in specs.items()})
    )


def _meta(roles=None, name="serving_default"):
    sigs = {name: {"inputs": {}, "doc": ""}}
    if roles is not None:
        sigs[name]["roles"] = roles
    return {"latent_distribution": "normal", "signatures_json": json.dumps(sigs)}


def test_declared_roles_win_over_names():
    sig = _signature(noise=([None, 4], tf.float32), cls=([None], tf.int32))
    meta = _meta({"noise": "latent", "cls": "class"})
    roles = generate.signature_roles(meta, "serving_default", sig.structured_input_signature[1], {})
    assert roles == {"noise": "latent", "cls": "class"}
    inputs = generate.draw_inputs(sig, roles, meta, {"num_classes": 3}, num=5, seed=0)
    assert inputs["noise"].shape == (5, 4) and inputs["cls"].numpy().tolist() == [0, 1, 2, 0, 1]
    # the same draw as a latent named z: roles, not names, decide
    z = generate.draw_inputs(_signature(z=([None, 4], tf.float32)), {"z": "latent"}, meta, {}, num=5, seed=0)["z"]
    np.testing.assert_array_equal(inputs["noise"].numpy(), z.numpy())


def test_an_export_without_roles_is_drawn_by_its_names_as_before():
    names = lambda sig, config=None: generate.signature_roles(  # noqa: E731
        _meta(), "serving_default", sig.structured_input_signature[1], config or {}
    )
    assert names(_signature(z=([None, 4], tf.float32), label=([None], tf.int32))) == {"z": "latent", "label": "class"}
    assert names(
        _signature(
            z=([None, 4], tf.float32),
            label_a=([None], tf.int32),
            label_b=([None], tf.int32),
            alpha=([None], tf.float32),
        )
    ) == {"z": "latent_a", "label_a": "class_a", "label_b": "class_b", "alpha": "path"}
    sequence = _signature(z=([None, 3, 4], tf.float32))
    assert names(sequence, {"long_sigma": 0.3}) == {"z": "latent_walk"}  # TGAN's long_video
    assert names(sequence, {}) == {"z": "latent_per_frame"}  # STGAN's code per frame
    assert names(_signature(image=([None, 8, 8, 1], tf.float32))) == {"image": "image"}
    with pytest.raises(ValueError, match="declares no roles and the name is none the zoo knows"):
        names(_signature(noise=([None, 4], tf.float32)))


def test_a_path_shares_its_ends_and_a_walk_steps_by_sigma():
    sig = _signature(z_a=([None, 4], tf.float32), z_b=([None, 4], tf.float32), alpha=([None], tf.float32))
    roles = {"z_a": "latent_a", "z_b": "latent_b", "alpha": "path"}
    inputs = generate.draw_inputs(sig, roles, _meta(roles), {}, num=3, seed=7)
    z_a, z_b = inputs["z_a"].numpy(), inputs["z_b"].numpy()
    assert (z_a == z_a[0]).all() and (z_b == z_b[0]).all() and not np.allclose(z_a[0], z_b[0])
    np.testing.assert_allclose(inputs["alpha"].numpy(), [0.0, 0.5, 1.0])

    walk = _signature(z=([None, 5, 4], tf.float32))
    steps = generate.draw_inputs(walk, {"z": "latent_walk"}, _meta(), {"long_sigma": 1e-3}, num=2, seed=0)["z"]
    assert np.abs(np.diff(steps.numpy(), axis=1)).max() < 0.01
    with pytest.raises(ValueError, match="pass --walk_sigma"):
        generate.draw_inputs(walk, {"z": "latent_walk"}, _meta(), {}, num=2, seed=0)
    # an export of today declares the step with the signature (TGAN's and the traversal's long_video)
    meta = {"signatures_json": json.dumps({"long_video": {"roles": {"z": "latent_walk"}, "walk_sigma": 0.25}})}
    assert generate.declared_walk_sigma(meta, "long_video") == 0.25
    assert generate.declared_walk_sigma(_meta(), "serving_default") is None
    with pytest.raises(ValueError, match="has role 'noise'"):
        generate.draw_inputs(walk, {"z": "noise"}, _meta(), {}, num=2, seed=0)
