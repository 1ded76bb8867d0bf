"""Command-line options made from the settings dataclasses."""

import argparse

import pytest
import torch

from metastyle.adapt import AdaptConfig, default_adapt_config
from metastyle.errors import MetastyleError
from metastyle.meta import MetaConfig
from metastyle.options import add_options, config_from


def parser_for(config, names=None, cuda=None):
    parser = argparse.ArgumentParser()
    add_options(parser, config, names, cuda)
    return parser


def test_only_the_options_given_replace_the_base_settings():
    base = AdaptConfig(steps=25, size=128)
    args = parser_for(base).parse_args(["--steps", "7", "--params", "in", "--content-weight", "3"])
    config = config_from(args, base)
    assert (config.steps, config.params, config.size) == (7, "in", 128)
    assert config.loss.content_weight == 3 and config.loss.style_weight == base.loss.style_weight
    assert config_from(parser_for(base).parse_args([]), base) == base


def test_booleans_choices_and_the_dataclass_checks():
    parser = parser_for(MetaConfig())
    assert config_from(parser.parse_args(["--predictor", "--inner-steps", "0"]), MetaConfig()).predictor is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--inner-params", "some"])  # not a choice: a usage error
    with pytest.raises(MetastyleError, match="only makes sense with --predictor"):
        config_from(parser.parse_args(["--inner-steps", "0"]), MetaConfig())


def test_a_subset_of_options_and_the_cuda_defaults_in_the_help():
    cpu, gpu = default_adapt_config(torch.device("cpu")), default_adapt_config(torch.device("cuda"))
    parser = parser_for(cpu, ("steps", "batch"), cuda=gpu)
    text = parser.format_help()
    assert f"default {cpu.steps}; {gpu.steps} on CUDA" in text and "--lr" not in text


def test_settings_made_in_python_are_held_to_the_same_choices():
    with pytest.raises(MetastyleError, match="params must be one of 'all', 'in', got 'some'"):
        AdaptConfig(params="some")
    with pytest.raises(MetastyleError, match="inner params must be one of"):
        MetaConfig(inner_params="everything")
    with pytest.raises(MetastyleError, match="precision must be one of"):
        AdaptConfig(precision="fp16")


def test_style_layer_weights_from_the_command_line_and_their_check():
    base = AdaptConfig()
    parser = parser_for(base)
    config = config_from(parser.parse_args(["--style-layer-weights", "408,5.07,12.9,0.2,1580"]), base)
    assert config.loss.style_layer_weights == (408, 5.07, 12.9, 0.2, 1580)
    assert config.loss.style_weights()["relu5_1"] == pytest.approx(1580 * base.loss.style_weight / 5)  # multiples of the equal share
    with pytest.raises(SystemExit):
        parser.parse_args(["--style-layer-weights", "1,x"])  # not numbers: a usage error
    with pytest.raises(MetastyleError, match="give 5 non-negative numbers, one per style layer .relu1_1, .*got \\[1.0, 2.0\\]"):
        config_from(parser.parse_args(["--style-layer-weights", "1,2"]), base)
