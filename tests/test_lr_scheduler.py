"""mx.lr_scheduler: values at and around every boundary, as MXNet 1.9.1 computes them."""
import math

import pytest

import trainkit as mx
from trainkit import lr_scheduler as lrs


def lrs_for(sched, updates):
    return [sched(n) for n in updates]


def test_factor_scheduler_changes_after_each_step():
    s = lrs.FactorScheduler(step=3, factor=0.5, base_lr=1.0)
    # the rate drops once num_update exceeds a multiple of step: update 4 is the first at 0.5
    assert lrs_for(s, range(1, 11)) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    assert s.count == 9 and s.base_lr == 0.125


def test_factor_scheduler_jumps_several_steps_and_stops_at_floor():
    s = lrs.FactorScheduler(step=2, factor=0.1, stop_factor_lr=1e-3, base_lr=1.0)
    assert s(7) == pytest.approx(1e-3)     # 3 decays at once: 1 -> 0.1 -> 0.01 -> 0.001
    assert s(100) == pytest.approx(1e-3)   # never below stop_factor_lr
    assert s.base_lr == 1e-3


def test_factor_scheduler_warmup_linear_and_constant():
    s = lrs.FactorScheduler(step=10, factor=0.5, base_lr=0.4, warmup_steps=4, warmup_begin_lr=0.0)
    assert lrs_for(s, range(0, 6)) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.4])
    c = lrs.FactorScheduler(step=10, base_lr=0.4, warmup_steps=3, warmup_begin_lr=0.1,
                            warmup_mode="constant")
    assert lrs_for(c, [0, 2, 3]) == pytest.approx([0.1, 0.1, 0.4])


def test_multifactor_scheduler():
    s = lrs.MultiFactorScheduler(step=[2, 5], factor=0.1, base_lr=1.0)
    assert lrs_for(s, range(1, 8)) == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])
    assert s.cur_step_ind == 2 and s.count == 5


def test_multifactor_resume_past_all_steps():
    s = lrs.MultiFactorScheduler(step=[2, 4, 6], factor=0.5, base_lr=8.0)
    assert s(100) == 1.0


def test_poly_scheduler():
    s = lrs.PolyScheduler(max_update=10, base_lr=1.0, pwr=2, final_lr=0.1)
    assert s(0) == pytest.approx(1.0)
    assert s(5) == pytest.approx(0.1 + 0.9 * 0.25)
    assert s(10) == pytest.approx(0.1)
    assert s(50) == pytest.approx(0.1)     # keeps the last value


def test_poly_scheduler_with_warmup():
    s = lrs.PolyScheduler(max_update=12, base_lr=1.0, pwr=1, warmup_steps=2, warmup_begin_lr=0.5)
    assert s(1) == pytest.approx(0.75)
    assert s(2) == pytest.approx(1.0)
    assert s(7) == pytest.approx(0.5)      # halfway through the 10 decay updates


def test_cosine_scheduler():
    s = lrs.CosineScheduler(max_update=100, base_lr=2.0, final_lr=0.0)
    assert s(0) == pytest.approx(2.0)
    assert s(50) == pytest.approx(1.0)
    assert s(25) == pytest.approx((1 + math.cos(math.pi / 4)))
    assert s(100) == pytest.approx(0.0)
    assert s(150) == pytest.approx(0.0)


def test_cosine_with_warmup_and_final_lr():
    s = lrs.CosineScheduler(max_update=30, base_lr=1.0, final_lr=0.2, warmup_steps=10, warmup_begin_lr=0.0)
    assert s(5) == pytest.approx(0.5)
    assert s(10) == pytest.approx(1.0)
    assert s(20) == pytest.approx(0.6)
    assert s(30) == pytest.approx(0.2)


def test_namespace():
    assert mx.lr_scheduler.FactorScheduler is lrs.FactorScheduler


@pytest.mark.parametrize("make, match", [
    (lambda: lrs.FactorScheduler(step=0), "step must be greater"),
    (lambda: lrs.FactorScheduler(step=2, factor=2.0), "Factor must be no more than 1"),
    (lambda: lrs.MultiFactorScheduler(step=[5, 3]), "increasing"),
    (lambda: lrs.MultiFactorScheduler(step=[]), "non-empty list"),
    (lambda: lrs.MultiFactorScheduler(step=[0, 3]), "greater or equal"),
    (lambda: lrs.CosineScheduler(max_update=0), "strictly positive"),
    (lambda: lrs.CosineScheduler(max_update=5, warmup_steps=5), "max_update > warmup_steps"),
    (lambda: lrs.PolyScheduler(max_update=10, base_lr=0.1, warmup_begin_lr=0.5, warmup_steps=2),
     "higher than warmup_begin_lr"),
    (lambda: lrs.LRScheduler(warmup_steps=-1), "positive or 0"),
    (lambda: lrs.LRScheduler(warmup_mode="cubic"), "linear and constant"),
])
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_type_errors():
    with pytest.raises(TypeError, match="warmup_steps must be an int"):
        lrs.LRScheduler(warmup_steps=2.5)
    with pytest.raises(TypeError, match="max_update must be an int"):
        lrs.CosineScheduler(max_update=10.0)
    with pytest.raises(NotImplementedError):
        lrs.LRScheduler()(1)


# ----- ReduceLROnPlateau (Keras' and Lightning's rule; not in MXNet) ---------------------------------
def plateau_lrs(sched, values, key="val_loss"):
    """The rate after each epoch's observe()."""
    out = []
    for epoch, v in enumerate(values, 1):
        sched.observe({key: v}, epoch=epoch)
        out.append(sched(epoch * 10))
    return out


def test_plateau_drops_after_patience_epochs_without_improvement():
    s = lrs.ReduceLROnPlateau(factor=0.5, patience=2, base_lr=1.0, min_delta=0)
    #                      best  best  wait1 wait2->drop  wait1  best  wait1 wait2->drop
    got = plateau_lrs(s, [1.0, 0.9, 0.95, 0.92, 0.91, 0.5, 0.6, 0.7])
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert s.best == 0.5 and s.num_reductions == 2 and s.mode == "min"


def test_plateau_min_delta_mode_and_nan():
    # improvements of 0.01 are below min_delta=0.05: they count as stalls
    s = lrs.ReduceLROnPlateau(factor=0.1, patience=1, base_lr=1.0, min_delta=0.05)
    assert plateau_lrs(s, [1.0, 0.99, 0.98]) == pytest.approx([1.0, 0.1, 0.01])
    # accuracy is maximised under mode='auto'; an equal value is no improvement; NaN never is
    s = lrs.ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1, base_lr=1.0, min_delta=0)
    assert s.mode == "max"
    assert plateau_lrs(s, [0.5, 0.6, 0.6, 0.7, float("nan")], "val_accuracy") == [1.0, 1.0, 0.5, 0.5, 0.25]
    s = lrs.ReduceLROnPlateau(monitor="val_accuracy", mode="min", factor=0.5, patience=1, base_lr=1.0)
    assert plateau_lrs(s, [0.5, 0.6], "val_accuracy") == [1.0, 0.5]


def test_plateau_cooldown_epochs_do_not_count():
    s = lrs.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, base_lr=1.0, min_delta=0)
    # drop at 2; epochs 3-4 cool down (no count); 5 stalls -> drop; 6-7 cool down, 8 drops
    got = plateau_lrs(s, [1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert got == [1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    # an improvement during cooldown still becomes the best
    s = lrs.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, base_lr=1.0, min_delta=0)
    plateau_lrs(s, [1.0, 2.0, 0.3])
    assert s.best == 0.3 and s.wait == 0


def test_plateau_stops_at_min_lr():
    s = lrs.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005, base_lr=0.1, min_delta=0)
    assert plateau_lrs(s, [1.0, 1.0, 1.0, 1.0]) == pytest.approx([0.1, 0.01, 0.005, 0.005])
    assert s.num_reductions == 2


def test_plateau_pickles_with_its_state_and_takes_new_settings():
    import pickle
    s = lrs.ReduceLROnPlateau(factor=0.5, patience=1, base_lr=1.0)
    plateau_lrs(s, [1.0, 2.0])
    copy = pickle.loads(pickle.dumps(s))
    assert (copy(0), copy.best, copy.wait, copy.num_reductions) == (0.5, 1.0, 0, 1)
    changes = copy.adopt_settings(lrs.ReduceLROnPlateau(factor=0.5, patience=3, base_lr=1.0))
    assert changes == {"patience": [1, 3]} and copy.patience == 3 and copy(0) == 0.5
    other_metric = pickle.loads(pickle.dumps(copy))
    assert other_metric.adopt_settings(lrs.ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=3)) == {
        "monitor": ["val_loss", "val_accuracy"], "mode": ["min", "max"]}
    assert other_metric.best is None and other_metric(0) == 0.5  # a loss is no best for an accuracy
    copy.restart(0.2)
    assert copy(0) == 0.2 and copy.best == 1.0
    with pytest.raises(KeyError, match="monitors 'val_loss', which the logs lack .they hold train_loss"):
        copy.observe({"train_loss": 1.0})


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 1.0}, r"factor must be a number in \(0, 1\)"),
    ({"factor": 0}, r"factor must be a number in \(0, 1\)"),
    ({"patience": -1}, "patience must be 0 or more"),
    ({"cooldown": -2}, "cooldown must be 0 or more"),
    ({"min_lr": -1e-3}, "min_lr must be a number >= 0"),
    ({"min_delta": -1}, "min_delta must be a number >= 0"),
    ({"mode": "lowest"}, "mode must be 'auto', 'min' or 'max'"),
])
def test_plateau_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lrs.ReduceLROnPlateau(**kwargs)
    with pytest.raises(TypeError, match="patience must be an int"):
        lrs.ReduceLROnPlateau(patience=2.0)
