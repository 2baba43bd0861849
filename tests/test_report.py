"""The HTML report on a small synthetic study: contents, escaping, self-containment, external data mode."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_synthetic import make_study

REPO = Path(__file__).resolve().parents[1]
CHINCHILLA_CSV = REPO / "tests" / "data" / "chinchilla_svg_extracted_data.csv"
HOSTILE = '<script>alert("x")</script>&$\\x$'


def render(tmp_path, study, scorecard: dict | None = None, workers: int = 1) -> str:
    from scalinglab.cli import main

    out = tmp_path / "reports" / ("report.html" if workers == 1 else f"report-{workers}-workers.html")
    argv = ["report", "--metrics", str(study["metrics"]), "--curves", str(study["curves"]),
            "--fits", *map(str, study["fits"]), "--config-json", json.dumps(study["config"]), "--out", str(out),
            "--workers", str(workers)]
    if scorecard is not None:
        path = tmp_path / "scorecard.json"
        path.write_text(json.dumps(scorecard))
        argv += ["--scorecard", str(path)]
    assert main(argv) == 0
    return out.read_text()


# A target's scores as `scalinglab score` writes them: the loss and its two-step accuracy (the report only draws them).
SCORECARD = {"targets": {"big": {
    "sweep": "width", "law": "saturating_power", "y": "final_val_loss", "prediction": 1.97, "truth": 2.0,
    "confidence_interval": [1.9, 2.02], "prediction_interval": [1.88, 2.05], "relative_error": -0.015,
    "in_prediction_interval": True, "in_confidence_interval": True, "n_runs": 1, "n_ladder_runs": 14,
    "predicted_at": "2026-11-28T20:00:00Z", "grid_choice": {},
    "accuracy": {"y": "val_accuracy", "prediction": 0.858, "truth": 0.95, "relative_error": -0.0968,
                 "in_prediction_interval": False, "in_confidence_interval": False,
                 "confidence_interval": [0.84, 0.88], "prediction_interval": [0.82, 0.9]}}}}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    study = make_study(root)
    return render(root, study, SCORECARD)


def _small_figure(seed: int):
    """A figure with what could differ between processes: clip paths (hashed ids), text, a legend, log axes."""
    import matplotlib.pyplot as plt
    import numpy as np

    from scalinglab.report import figures as F

    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=F.REPORT, layout="constrained")
    ax.scatter(rng.uniform(1, 100, 20), rng.uniform(1, 3, 20), label=f"runs {seed}")
    ax.fill_between([1, 100], [1, 1], [2, 2], alpha=0.2)
    ax.set_xscale("log")
    ax.legend()
    return F.to_svg(fig)


def test_figures_drawn_in_parallel_are_the_serial_bytes_in_order():
    from scalinglab.report import figures as F

    F.setup("notebook")
    drawings = [lambda seed=seed: _small_figure(seed) for seed in range(3)]
    serial = F.in_parallel(drawings, workers=1)
    assert len(set(serial)) == 3
    assert F.in_parallel(drawings, workers=2, first=[2]) == serial


def test_headline_one_sentence_per_law_with_interval_and_backtest(report):
    headline = report.split('id="headline"')[1].split("</section>")[0]
    items = re.findall(r"<li>(.*?)</li>", headline, re.S)
    assert len(items) == 4 and "could not be fitted" in items[-1]
    for item in items[:3]:
        assert re.search(r"alpha = [0-9.]+ \[[0-9.]+, [0-9.]+\]", item)
        assert "backtest RMS log error" in item


def test_sections_present(report):
    for needle in ("Law comparison", "AIC", "BIC", "backtest RMS log error", "Fitted parameters", "IsoFLOP",
                   "Runs", "Compute spent", "core-hours", "Provenance", "config hash", "git commit",
                   "Accuracy by size"):
        assert needle in report, needle
    for kind in ("scaling", "residuals", "learning_curves", "accuracy", "compute", "figure4", "isoflop"):
        assert re.search(rf'id="fig-[^"]*-{kind}-\d+"', report), kind


def test_each_band_says_which_interval_it_is(report):
    caption = report.split('id="fig-width-scaling-0"')[1].split("</figcaption>")[0]
    assert "confidence band of the fitted curve" in caption and "prediction interval of one new run" in caption
    assert "observation noise estimated from the residuals" in caption
    assert "confidence band of the curve" in report and "prediction interval, new run" in report  # the legend


def test_parameter_on_a_bound_is_flagged_next_to_it(report):
    table = report.split("Fitted parameters: power")[1].split("</table>")[0]
    row = next(r for r in table.split("<tr>") if r.startswith("<td>alpha"))
    assert "on a bound" in row and "lower bound 0" in row and "not a real interval" in row
    other = report.split("Fitted parameters: saturating_power")[1].split("</table>")[0]
    assert "on a bound" not in other


def test_an_unfittable_sweep_has_its_section_with_the_runs_left_out(report):
    section = report.split("Sweep: broken")[1].split("</section>")[0]
    assert "saturating_power could not be fitted to this sweep" in section
    assert "0 usable point(s)" in section and "status=diverged: 2 runs" in section
    assert re.search(r"\(\w{12}, \w{12}\)", section)
    assert "broken: saturating_power could not be fitted" in report.split('id="headline"')[1].split("</section>")[0]


def test_diverged_and_failed_runs_visible(report):
    assert 'class="status-diverged">diverged<' in report
    assert 'class="status-failed">failed<' in report
    assert "RuntimeError: &lt;boom&gt; &amp; co" in report


def test_self_contained(report):
    assert not re.search(r'(src|href)="(https?:)?//', report)
    assert "<script" not in report.lower()
    assert "<link" not in report.lower()
    assert int(re.search(r'name="scalinglab-figures" content="(\d+)"', report).group(1)) == report.count("<svg")


def test_hostile_names_are_escaped(tmp_path):
    study = make_study(tmp_path, sweep_name="width", title_study=HOSTILE)
    metrics = pd.read_parquet(study["metrics"])
    metrics.loc[metrics["sweep"] == "width", "sweep"] = HOSTILE
    metrics.loc[metrics.index[:3], "size_label"] = HOSTILE
    metrics.to_parquet(study["metrics"], index=False)
    curves = pd.read_parquet(study["curves"])
    curves.loc[curves["sweep"] == "width", "sweep"] = HOSTILE
    curves.to_parquet(study["curves"], index=False)
    for sweep in study["config"]["sweeps"]:
        if sweep["name"] == "width":
            sweep["name"] = HOSTILE
    html = render(tmp_path, study)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert html.count('<figure class="fig"') >= 8  # the hostile name does not break a figure (mathtext, ids)


def test_no_fits_still_reports(tmp_path):
    study = make_study(tmp_path)
    study["fits"] = []
    html = render(tmp_path, study)
    assert "No law was fitted" in html and "<svg" in html


def test_large_study_runs_table_summarised(tmp_path):
    from scalinglab.report.build import runs_table

    study = make_study(tmp_path)
    metrics = pd.read_parquet(study["metrics"])
    big = pd.concat([metrics] * 40, ignore_index=True)
    table = runs_table(big)
    assert table["truncated"] and table["shown"] == 160  # only the diverged and failed ones (4 per copy)
    assert {row["status"] for row in table["rows"]} == {"diverged", "failed"}


def test_external_missing_file_is_a_clear_error(tmp_path):
    from scalinglab.config import ConfigError
    from scalinglab.external import check_files

    config = {"external": [{"name": "chin", "path": str(tmp_path / "absent.csv"), "source": "https://example.org/x"}]}
    with pytest.raises(ConfigError, match=r"absent\.csv.*https://example\.org/x"):
        check_files(config)


def test_external_chinchilla_import(tmp_path):
    import yaml

    from scalinglab.external import import_external

    config = yaml.safe_load((REPO / "config" / "chinchilla.yaml").read_text())
    config["external"][0]["path"] = str(CHINCHILLA_CSV)
    n = import_external(config, tmp_path / "m.parquet", tmp_path / "c.parquet")
    metrics = pd.read_parquet(tmp_path / "m.parquet")
    assert n == 245 and (metrics["status"] == "ok").sum() == 240
    worst = metrics.nlargest(5, "final_val_loss")
    assert (worst["status"] == "excluded").all()
    ok = metrics[metrics["status"] == "ok"]
    assert ((ok["tokens"] * 6 * ok["n_params"] / ok["flops"] - 1).abs() < 1e-9).all()


# ---- an IsoFLOP study with a learning-rate grid, fitted for real ---------------------------------------------
@pytest.fixture(scope="module")
def iso_report(tmp_path_factory):
    from report_synthetic import grid_ladder

    from scalinglab.fitting import fit

    root = tmp_path_factory.mktemp("iso")
    metrics = root / "metrics.parquet"
    grid_ladder().to_parquet(metrics, index=False)
    path = root / "fits" / "iso" / "chinchilla.json"
    fit(grid_ladder(), "chinchilla", ["n_params", "tokens_seen"], "final_val_loss", bootstrap=100,
        backtest_holdouts=[1]).save(path)
    study = {"metrics": metrics, "curves": root / "none.parquet", "fits": [path], "config": {
        "study": "iso", "sweeps": [{"name": "iso", "dataset": "synthetic", "model": "gpt", "fit": {}}]}}
    pd.DataFrame(columns=["run_id", "sweep"]).to_parquet(study["curves"])
    return render(root, study)


def test_grid_sweep_draws_loss_per_grid_value_and_flags_edge_sizes(iso_report):
    from report_synthetic import ISO_SIZES

    figure = iso_report.split('id="fig-iso-grid-')[1].split("</figure>")[0]
    assert "against each lr value" in figure and "edge of the grid" in figure and "54 of 270 runs" in figure
    warning = iso_report.split('class="warning grid-edge"')[1].split("</p>")[0]
    assert f"n{ISO_SIZES[0]:.3g}" in warning and "lr at its highest value 0.1" in warning
    assert not any(f"n{n:.3g}," in warning for n in ISO_SIZES[1:])  # only the smallest size's best lies outside


def test_approaches_2_and_3_in_one_table_with_a_verdict_and_their_figures(iso_report):
    section = iso_report.split("-approaches\">Compute-optimal allocation")[1].split("</section>")[0]
    table = section.split('<table class="approaches">')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(\w+)</td><td class=\"num\">([^<]*)</td>", table)
    assert rows[0] == ("a", "") and len(rows) == 1 + 3 * 4
    assert {q for q, _ in rows[1:]} == {"N_opt", "D_opt", "tokens_per_param"}
    assert len(re.findall(r"\[[0-9.e+]+, [0-9.e+]+\]", table)) == 2 * len(rows)  # every quantity, both approaches
    assert "agree within their intervals" in section and "54 runs, 4 compute budgets" in section
    for kind in ("isoflop", "tokens_per_param"):
        assert re.search(rf'id="fig-iso-{kind}-\d+"', iso_report), kind


def test_the_scorecard_opens_the_report_with_the_two_step_accuracy_on_its_own_row(report):
    html = report
    section = html.split('<section id="targets">')[1].split("</section>")[0]
    assert html.index('<section id="targets">') < html.index('<section id="headline">')
    rows = re.findall(r"<tr><td>big</td>(.*?)</tr>", section, re.S)
    assert len(rows) == 2 and "final_val_loss" in rows[0] and "-1.50%" in rows[0]
    assert "two-step" in rows[1] and "val_accuracy" in rows[1] and "-9.68%" in rows[1] and ">no<" in rows[1]
