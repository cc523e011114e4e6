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
