"""How spirals.csv was made (kept for the record; the study reads the CSV, not this script).

Three interleaved spirals in the plane, 1,000 points each, with Gaussian noise: a classification problem whose
difficulty grows with the number of turns (2 here), so wider networks keep paying off.
    python examples/dataset_file/make_data.py
"""

from pathlib import Path

import numpy as np

rng = np.random.default_rng(2024)
rows = []
for label, name in enumerate(("red", "green", "blue")):
    t = rng.uniform(0.0, 1.0, 1000)
    angle = 2.0 * 2 * np.pi * t + label * 2 * np.pi / 3
    radius = 0.2 + 2.0 * t
    x = radius * np.cos(angle) + rng.normal(0, 0.12, t.size)
    y = radius * np.sin(angle) + rng.normal(0, 0.12, t.size)
    rows += [f"{a:.5f},{b:.5f},{name}" for a, b in zip(x, y)]
order = rng.permutation(len(rows))
text = "x,y,arm\n" + "\n".join(rows[i] for i in order) + "\n"
Path(__file__).with_name("spirals.csv").write_text(text)
