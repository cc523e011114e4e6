"""``mx.metric``: evaluation metrics with MXNet 1.9.1's names, maths and accumulation.

Modules: ``base`` (EvalMetric, registry, create, CompositeEvalMetric, Loss, Torch, Caffe,
CustomMetric, np), ``classification`` (Accuracy, TopKAccuracy, F1, MCC, PCC, Perplexity,
CrossEntropy, NegativeLogLikelihood), ``regression`` (MAE, MSE, RMSE, PearsonCorrelation).
"""
from .base import (Caffe, CompositeEvalMetric, CustomMetric, EvalMetric, Loss, Torch, alias,  # noqa: F401
                   check_label_shapes, create, np, register)
from .classification import (MCC, PCC, Accuracy, CrossEntropy, F1, NegativeLogLikelihood, Perplexity,  # noqa: F401
                             TopKAccuracy)
from .regression import MAE, MSE, RMSE, PearsonCorrelation  # noqa: F401

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "Perplexity", "MAE", "MSE",
           "RMSE", "CrossEntropy", "NegativeLogLikelihood", "PearsonCorrelation", "PCC", "Loss", "Torch", "Caffe",
           "CustomMetric", "create", "register", "alias", "np", "check_label_shapes"]
