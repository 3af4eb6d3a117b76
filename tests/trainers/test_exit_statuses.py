"""One exit-status contract for every command line (trainers.common.run_cli / exit_on_error):
0 done, 1 the work failed, 2 bad flags, arguments or input, 75 stopped by a signal."""

import sys

import pytest

BAD = [
    (["trainers.vgan", "--steps=abc", "--run_dir=R"], "flag --steps=abc"),  # absl's own parse error
    (["trainers.tgan", "--strategy=tpu", "--run_dir=R"], "flag --strategy=tpu"),  # an enum flag
    (["trainers.vgan", "--preset=huge", "--run_dir=R"], "unknown preset 'huge'"),  # a config error
    (["trainers.mvt", "--run_dir=R", "stray"], "unexpected arguments"),  # a usage error
    (["export"], "--run_dir must have a value"),  # a missing required flag
    (["trainers.recipe"], "expected one recipe name"),
    (["trainers.generate", "--model=M", "stray"], "unexpected arguments"),
    (["trainers.evaluate", "--num_samples=x"], "flag --num_samples=x"),
    # --data_opt: an unknown option, a value of the wrong type (trainers, evaluate, build_cache)
    (["trainers.vgan", "--data_opt=nope=1", "--run_dir=R"], "data set 'bouncing_balls' has no option 'nope'"),
    (
        ["trainers.mvt", "--dataset=video_folder", "--data_dir=R", "--data_opt=frame_stride=abc", "--run_dir=R"],
        "option 'frame_stride' of data set 'video_folder' expects int",
    ),
    (
        ["trainers.evaluate", "--generator=noise", "--real=video_folder", "--data_opt=random_crop=maybe"],
        "option 'random_crop' of data set 'video_folder' expects true or false",
    ),
    (
        [
            "trainers.build_cache",
            "--data_dir=R",
            "--cache_dir=R",
            "--frames=8",
            "--size=16",
            "--data_opt=split_index=x",
        ],
        "option 'split_index' of data set 'video_folder' expects int",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_exits_2_with_a_message_and_writes_nothing(tmp_path, argv, message, run_commands):
    argv = [a.replace("=R", f"={tmp_path / 'run'}") for a in argv]
    ((status, out),) = run_commands([sys.executable, "-m", *argv])
    assert status == 2, (status, out[-2000:])
    assert message in out
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv,wanted",
    [
        (
            ["trainers.vgan", "--help"],
            ["--data_opt", "--serving_root", "--streams", "--preset", "Train VGAN", "Default: 16 (--preset=small's"],
        ),  # --frames: the default preset's, not VGANConfig's 32
        (["export", "-h"], ["--serving_root", "--[no]encoded_outputs", "--run_dir"]),
    ],
)
def test_help_lists_the_zoos_flags_and_only_those(argv, wanted, run_commands):
    ((status, out),) = run_commands([sys.executable, "-m", *argv])
    assert status == 0, out[-2000:]
    for word in wanted:
        assert word in out, word
    for noise in (
        "--tpu",
        "--test_srcdir",
        "--xml_output_file",
        "--only_check_args",  # absl's and TF's own
        "defined only when this file runs",
    ):  # a developer's note once in export's docstring
        assert noise not in out, noise
