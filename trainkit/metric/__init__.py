"""``mx.metric``: evaluation metrics with MXNet 1.9.1's names, maths and accumulation.

Modules: ``base`` (EvalMetric, registry, create, CompositeEvalMetric, Loss, Torch, Caffe,
CustomMetric, np), ``classification`` (Accuracy, TopKAccuracy, F1, MCC, PCC, Perplexity,
CrossEntropy, NegativeLogLikelihood), ``regression`` (MAE, MSE, RMSE, PearsonCorrelation); beyond MXNet,
scored over every sample seen (what the Trainer reports): ``binary`` (BinaryAccuracy, BinaryF1, AUC),
``macro_f1`` (MacroF1), ``pooled_regression`` (PooledMSE, PooledMAE, PooledRMSE, R2).
"""
from .base import (Caffe, CompositeEvalMetric, CustomMetric, EvalMetric, Loss, Torch, alias,  # noqa: F401
                   check_label_shapes, create, np, register)
from .classification import (MCC, PCC, Accuracy, CrossEntropy, F1, NegativeLogLikelihood, Perplexity,  # noqa: F401
                             TopKAccuracy)
from .regression import MAE, MSE, RMSE, PearsonCorrelation  # noqa: F401
from .binary import AUC, BinaryAccuracy, BinaryF1, roc_auc  # noqa: F401
from .macro_f1 import MacroF1  # noqa: F401
from .pooled_regression import R2, PooledMAE, PooledMSE, PooledRMSE  # noqa: F401

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "Perplexity", "MAE", "MSE",
           "RMSE", "CrossEntropy", "NegativeLogLikelihood", "PearsonCorrelation", "PCC", "Loss", "Torch", "Caffe",
           "CustomMetric", "create", "register", "alias", "np", "check_label_shapes", "AUC", "BinaryAccuracy", "BinaryF1",
           "MacroF1", "R2", "PooledMSE", "PooledMAE", "PooledRMSE", "roc_auc"]
