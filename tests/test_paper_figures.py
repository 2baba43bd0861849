"""Paper figures: every figure in PDF, PNG and SVG, publication settings, byte-identical regeneration."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_synthetic import make_study

# Rendering every figure in three formats twice takes ~17 s: the full suite, not the fast inner loop.
pytestmark = pytest.mark.slow


def write(study, out_dir, workers: int = 1) -> dict[str, str]:
    from scalinglab.cli import main

    assert main(["paper-figures", "--metrics", str(study["metrics"]), "--curves", str(study["curves"]),
                 "--fits", *map(str, study["fits"]), "--config-json", json.dumps(study["config"]),
                 "--out-dir", str(out_dir), "--workers", str(workers)]) == 0
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(out_dir).iterdir())}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The paper figures of the synthetic study, written twice into two folders, by one process and then by three
    (the workflow draws them in parallel): {folder: {file: sha256}}."""
    root = tmp_path_factory.mktemp("paper")
    study = make_study(root / "study")
    return root, write(study, root / "a"), write(study, root / "b", workers=3)


def test_every_figure_in_three_formats_and_deterministic(written):
    _, first, second = written
    stems = {name.rsplit(".", 1)[0] for name in first}
    assert {f"{stem}.{ext}" for stem in stems for ext in ("pdf", "png", "svg")} == set(first)
    for kind in ("width_scaling", "width_residuals", "width_learning_curves", "width_accuracy",
                 "grid_compute", "grid_figure4", "grid_isoflop"):
        assert kind in stems, kind
    assert first == second, "regeneration changed bytes"


def test_fixed_metadata_and_embedded_fonts(written):
    folder = written[0] / "a"
    pdf = (folder / "width_scaling.pdf").read_bytes()
    assert b"/CreationDate" not in pdf
    assert b"/FontFile2" in pdf  # TrueType fonts embedded (pdf.fonttype 42)
    png = (folder / "width_scaling.png").read_bytes()
    assert b"Software" not in png
    svg = (folder / "width_scaling.svg").read_text()
    assert "<dc:date>" not in svg
    assert "<text" not in svg  # glyphs embedded as paths
