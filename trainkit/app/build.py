"""Config -> objects -> training. A placeholder until the Trainer lands: it loads the
data and logs what it found, so the command line can be exercised end to end."""
import logging

from trainkit.app.data import load_dataset, num_classes

log = logging.getLogger("trainkit")


def run(cfg):
    """Run one training job for a validated config; returns the metric sweepers optimise."""
    X_train, y_train, X_val, y_val = load_dataset(cfg.data)
    classes = num_classes(y_train, y_val, cfg.model.num_classes)
    log.info("data %s: train X %s y %s, val X %s y %s, %d classes",
             cfg.data.name, X_train.shape, y_train.shape, X_val.shape, y_val.shape, classes)
    return None
