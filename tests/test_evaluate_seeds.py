"""The figures of npflow evaluate on a digits run hold across seeds: the judge is fixed, and each figure's ± says how
far another seed may move it."""
import json

import pytest

from npflow.cli import main


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A small conditional run of the digits recipe, far from trained: its figures are noisy, which is the point."""
    run = tmp_path_factory.mktemp("digits") / "run"
    assert main(["train", "--recipe", "digits", "--conditional", "--steps", "20", "--hidden", "16,16",
                 "--batch-size", "32", "--quiet", "--out", str(run)]) == 0
    return str(run)


def _evaluate(capsys, *argv):
    assert main(["evaluate", *argv]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
def test_two_seeds_agree_within_three_standard_errors_and_every_figure_has_one(digits_run, capsys):
    reports = [json.loads(_evaluate(capsys, digits_run, "--n", "200", "--steps", "4", "--seed", seed, "--json"))
               for seed in ("1", "2")]
    first, second = reports
    assert first["judge_version"] == second["judge_version"] == 1
    assert first["classifier_test_accuracy"] == second["classifier_test_accuracy"]  # one judge for every seed
    for key in ("class_accuracy", "frechet_distance"):
        gap = abs(first[key] - second[key])
        assert 0 < gap <= 3 * min(first[f"{key}_stderr"], second[f"{key}_stderr"]), (key, gap)
    table = _evaluate(capsys, digits_run, "--n", "200", "--steps", "4", "--seed", "1")
    *figures, footer = table.strip().splitlines()
    assert len(figures) == 7 and all("±" in line for line in figures) and "bootstrap of 50 resamples" in footer


@pytest.mark.slow
def test_repeats_report_the_mean_and_the_spread_over_independent_draws(digits_run, capsys):
    report = json.loads(_evaluate(capsys, digits_run, "--n", "100", "--steps", "2", "--repeats", "3", "--json"))
    single = json.loads(_evaluate(capsys, digits_run, "--n", "100", "--steps", "2", "--json"))
    assert report["repeats"] == 3 and report["frechet_distance_spread"] > 0
    assert report["classifier_test_accuracy_spread"] == 0  # the judge does not move with the draw
    assert report["frechet_distance"] != single["frechet_distance"]  # a mean over three draws, the first of them this
    assert "± the sd over 3 independent draws" in _evaluate(capsys, digits_run, "--n", "100", "--steps", "2",
                                                           "--repeats", "3")
