"""Train an MLP on the shipped digits with trainkit's Python API (no Hydra, no config files).

    python examples/train_digits.py                     # train, print the epochs and a summary
    python examples/train_digits.py --out-dir runs/a    # also write checkpoints, metrics.jsonl, best.params
    python examples/train_digits.py --out-dir runs/b --resume runs/a --epochs 30   # continue run a

The same model from the command line is `python -m trainkit +recipe=mlp`; from a config in
Python it is `Trainer.from_config(["+recipe=mlp"])`.
"""
import argparse
import logging

import numpy as np

import trainkit as mx
from trainkit import Callback, Trainer
from trainkit.datasets import load_digits
from trainkit.trainer import EarlyStopping


def digits(val_fraction=0.2, seed=0):
    """(X_train, y_train, X_val, y_val): pixels scaled to [0, 1], a seeded split."""
    X, y = load_digits()
    X = X.astype(np.float32) / 16.0
    order = np.random.default_rng(seed).permutation(len(X))
    n_val = int(len(X) * val_fraction)
    return X[order[n_val:]], y[order[n_val:]], X[order[:n_val]], y[order[:n_val]]


def mlp(hidden=(128,), classes=10, dropout=0.1):
    """fc1 -> relu1 -> drop1 -> ... -> fcN: the class scores (the Trainer applies the softmax loss)."""
    x = mx.sym.Variable("data")
    for i, units in enumerate(hidden, 1):
        x = mx.sym.FullyConnected(x, num_hidden=units, name=f"fc{i}")
        x = mx.sym.Activation(x, act_type="relu", name=f"relu{i}")
        if dropout:
            x = mx.sym.Dropout(x, p=dropout, name=f"drop{i}")
    return mx.sym.FullyConnected(x, num_hidden=classes, name=f"fc{len(hidden) + 1}")


class Gap(Callback):
    """A callback: warn when training accuracy runs far ahead of validation accuracy."""

    def on_epoch_end(self, trainer, epoch, logs, **kwargs):
        gap = logs["train_accuracy"] - logs["val_accuracy"]
        if gap > 0.05:
            logging.getLogger("trainkit").warning("epoch %d: train/val accuracy gap %.3f", epoch, gap)


def main(epochs=20, out_dir=None, resume=None, seed=0):
    X, y, X_val, y_val = digits()
    module = mx.mod.Module(mlp(), data_names=["data"], label_names=None, context=mx.cpu())
    steps = int(np.ceil(len(X) / 32))
    trainer = Trainer(
        module,
        initializer=mx.init.Mixed([".*bias", ".*"], [mx.init.Zero(), mx.init.Xavier(magnitude=2.0)]),
        optimizer="sgd",
        optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4,
                          # halve the learning rate every 5 epochs (schedulers count updates)
                          "lr_scheduler": mx.lr_scheduler.FactorScheduler(step=5 * steps, factor=0.5, base_lr=0.1)},
        train_data=(X, y), val_data=(X_val, y_val),
        epochs=epochs, batch_size=32, seed=seed,
        callbacks=[Gap()], early_stopping=EarlyStopping(monitor="val_loss", patience=6),
        out_dir=out_dir, resume=resume,
    )
    history = trainer.fit()
    result = trainer.evaluate((X_val, y_val))
    probs = trainer.predict(X_val[:5]).asnumpy()  # class probabilities (softmax); predict_logits: the raw scores
    print(f"{len(history)} epochs; validation accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f}; "
          f"best {trainer.best['monitor']}={trainer.best['value']:.4f} at epoch {trainer.best['epoch']}")
    print("first five predictions:", probs.argmax(axis=1).tolist(), "labels:", y_val[:5].tolist())
    return trainer


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out-dir", default=None, help="folder for checkpoints and metrics (must be new)")
    parser.add_argument("--resume", default=None, help="a run folder to continue from")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main(args.epochs, args.out_dir, args.resume, args.seed)
