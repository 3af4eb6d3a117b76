"""Adding a model is one zoo file and a two-line trainer (README.md, "Architecture"): the toy of
tests/fixtures/toy_gan.py, registered from outside the zoo, keeps the registry-wide contract,
trains with the shared trainer, resumes, exports and generates, with no other file naming it."""

import importlib.util
import os

import pytest

import export
import zoo
from trainers import common, generate
from zoo import registry

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "toy_gan.py")


@pytest.fixture
def toy():
    spec = importlib.util.spec_from_file_location("toy_gan", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    registry.register(*module.ENTRIES)  # as a project outside the zoo adds its model
    yield module
    registry.unregister(module.NAME)  # leave the registry as the zoo has it


@pytest.mark.slow
def test_a_model_in_one_file_keeps_the_contract_trains_exports_and_generates(toy, tmp_path):
    from test_contract import check_contract  # tests/ is on sys.path

    assert toy.NAME in zoo.names()
    check_contract(toy.NAME, None, tmp_path / "contract")

    opts = common.RunOptions(
        run_dir=str(tmp_path / "run"),
        steps=2,
        checkpoint_every=1,
        sample_every=1,
        num_samples=2,
        verbose=0,
        dataset="bouncing_balls",
        export_dir=str(tmp_path / "exports"),
    )
    overrides = dict(frames=4, size=8, channels=1)
    paths = common.Trainer(toy.NAME, "tiny", overrides, opts).run()
    assert os.path.isdir(paths["saved_model"]) and os.listdir(tmp_path / "run" / "samples")
    resumed = common.Trainer(
        toy.NAME, "tiny", overrides, common.RunOptions(**{**opts.__dict__, "steps": 3, "export_dir": None})
    )
    resumed.run()
    assert resumed.start_step == 2 and int(resumed.model.step) == 3
    videos = generate.generate(paths["saved_model"], str(tmp_path / "videos"), num_videos=2)
    assert len(videos) == 3
    assert export.read_metadata(export.load(paths["saved_model"]))["model_name"] == toy.NAME
