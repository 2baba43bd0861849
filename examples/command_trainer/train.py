"""A standalone training script that knows nothing about scalinglab: random-features regression in numpy.

A fixed random ReLU layer of `--width` features feeds a linear readout trained with Adam on `--samples` samples of a
synthetic teacher (a wide two-layer tanh network plus noise, drawn from a fixed data seed). More features fit the
teacher better, so the validation loss falls with width as a power law towards the noise floor.

It follows scalinglab's output contract for `trainer: command` (docs/extending.md): it writes OUT/metrics.json with
`final_val_loss` and `n_params`, plus `samples_seen`, a learning `curve` and one extra metric of its own. It resumes:
each epoch it saves OUT/checkpoint.npz, and a retry (scalinglab reruns the command with the next --attempt) picks the
checkpoint up.

    python examples/command_trainer/train.py --width 64 --samples 4000 --seed 0 --out /tmp/run
"""

import argparse
import json
import math
import os

import numpy as np

INPUTS, TEACHER_WIDTH, NOISE, DATA_SEED, VAL_SAMPLES = 8, 256, 0.05, 1234, 2000


def teacher_data(n: int):
    """(x, y) of the fixed teacher; the first VAL_SAMPLES rows are the validation set, training rows follow."""
    rng = np.random.default_rng(DATA_SEED)
    w1 = rng.normal(size=(INPUTS, TEACHER_WIDTH)) / math.sqrt(INPUTS)
    w2 = rng.normal(size=TEACHER_WIDTH) / math.sqrt(TEACHER_WIDTH)
    x = rng.normal(size=(VAL_SAMPLES + n, INPUTS))
    return x, np.tanh(x @ w1) @ w2 + NOISE * rng.normal(size=len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, required=True, help="random features (the model size)")
    parser.add_argument("--samples", type=int, required=True, help="training samples (the data budget)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random features and the batch order")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--attempt", type=int, default=1, help="scalinglab's attempt number (for the log)")
    parser.add_argument("--out", required=True, help="the run's folder: metrics.json and checkpoint.npz go here")
    args = parser.parse_args()

    x, y = teacher_data(args.samples)
    rng = np.random.default_rng(args.seed)
    projection = rng.normal(size=(INPUTS, args.width)) / math.sqrt(INPUTS)
    features = np.maximum(x @ projection, 0.0) / math.sqrt(args.width)  # (n, width), fixed
    features = np.hstack([features, np.ones((len(x), 1))])  # a bias column
    val_x, val_y = features[:VAL_SAMPLES], y[:VAL_SAMPLES]
    train_x, train_y = features[VAL_SAMPLES:], y[VAL_SAMPLES:]

    # resumed from the last epoch's checkpoint when a retry finds one
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    readout, m, v = (np.zeros(args.width + 1) for _ in range(3))  # the readout, Adam's first and second moments
    epoch, step, curve = 0, 0, []
    if os.path.exists(checkpoint):
        saved = np.load(checkpoint)
        readout, m, v, epoch, step = saved["readout"], saved["m"], saved["v"], int(saved["epoch"]), int(saved["step"])
        curve = json.loads(str(saved["curve"]))
        print(f"attempt {args.attempt}: resuming after epoch {epoch}")

    batch = 32
    while epoch < args.epochs:
        order = np.random.default_rng([args.seed, epoch]).permutation(len(train_y))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            error = train_x[rows] @ readout - train_y[rows]
            grad = train_x[rows].T @ error * (2 / len(rows))
            step += 1
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad**2
            lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / (args.epochs * math.ceil(len(order) / batch))))
            readout -= lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        epoch += 1
        val_loss = float(np.mean((val_x @ readout - val_y) ** 2))
        curve.append({"step": step, "samples": step * batch, "val_loss": val_loss})
        np.savez(checkpoint, readout=readout, m=m, v=v, epoch=epoch, step=step, curve=json.dumps(curve))

    train_loss = float(np.mean((train_x @ readout - train_y) ** 2))
    metrics = {
        "final_val_loss": curve[-1]["val_loss"],
        "n_params": args.width + 1,  # the trained readout; the random layer is fixed
        "samples_seen": args.samples,
        "final_train_loss": train_loss,
        "curve": curve,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, indent=1)
    os.remove(checkpoint)  # done: the next run starts fresh


if __name__ == "__main__":
    main()
