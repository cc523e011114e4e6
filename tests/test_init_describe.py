"""mx.init.describe / format_table: the dry-run parameter table."""
import math

import numpy as np
import pytest

import trainkit as mx
from trainkit import random_streams as rng

init = mx.init
nd = mx.nd


def row_of(initializer, name, shape, attrs=None):
    (row,) = init.describe(initializer, {name: shape}, {name: attrs} if attrs else None)
    return row


def test_rows_follow_suffix_rules_and_mixed():
    mixed = init.Mixed([".*bias", ".*"], [init.Constant(2), init.Xavier()])
    rows = init.describe(mixed, {"fc_weight": (4, 6), "fc_bias": (4,), "bn_gamma": (4,)})
    assert [r.name for r in rows] == ["fc_weight", "fc_bias", "bn_gamma"]
    w, b, g = rows
    assert w == init.ParamRow("fc_weight", (4, 6), init.Xavier().dumps(), ".*", "weight", 0.0,
                              math.sqrt(3 / 5) / math.sqrt(3), 24)
    # Constant(2) on a bias writes 0 (MXNet's rule), and describe says so
    assert (b.init, b.pattern, b.rule, b.mean, b.std, b.count) == ('["zero", {}]', ".*bias", "bias", 0.0, 0.0, 4)
    assert (g.init, g.pattern, g.mean, g.std) == ('["one", {}]', ".*", 1.0, 0.0)


def test_init_attr_and_string_initializers():
    row = row_of("xavier", "bn_moving_var", (3,), {"__init__": '["one", {}]'})
    assert (row.init, row.rule, row.mean, row.std) == ('["one", {}]', '["one", {}]', 1.0, 0.0)
    row = row_of('["normal", {"sigma": 0.3}]', "w_weight", (2, 2), {"num_hidden": "2"})
    assert (row.init, row.std) == ('["normal", {"sigma": 0.3}]', 0.3)


@pytest.mark.parametrize("initializer, shape", [
    (init.Uniform(0.2), (300, 400)), (init.Normal(0.05), (300, 400)), (init.Xavier(), (64, 32, 3, 3)),
    (init.Xavier("gaussian", "in", 2), (64, 32, 3, 3)), (init.Xavier("uniform", "out", 1), (300, 200)),
    (init.MSRAPrelu("in", 0), (200, 300)), (init.Orthogonal(1.414), (300, 200)),
    (init.Orthogonal(0.5, "normal"), (50, 4, 3, 3)), (init.Bilinear(), (2, 3, 4, 5)), (init.LSTMBias(2.0), (40,)),
    (init.Constant([[1.0], [3.0]]), (2, 5)), (init.FusedRNN(init.Uniform(0.1), 8, 2, "lstm", True), (4 * 8 * 2 * 144,)),
])
def test_predicted_moments_match_real_fills(initializer, shape):
    row = row_of(initializer, "p_weight", shape)
    arr = nd.zeros(shape)
    initializer(init.InitDesc("p_weight"), arr)
    values = arr.asnumpy().astype(np.float64)
    assert row.count == values.size
    # the mean of n draws is off by about std/sqrt(n)
    assert row.mean == pytest.approx(values.mean(), abs=5 * row.std / math.sqrt(values.size) + 1e-6)
    assert row.std == pytest.approx(values.std(), rel=0.03, abs=1e-7)


def test_orthogonal_rms_is_exact():
    row = row_of(init.Orthogonal(2.0), "w_weight", (30, 70))
    assert row.std == 2.0 / math.sqrt(70)
    arr = nd.zeros((30, 70))
    init.Orthogonal(2.0)(init.InitDesc("w_weight"), arr)
    assert math.sqrt((arr.asnumpy().astype(np.float64) ** 2).mean()) == pytest.approx(row.std, rel=1e-6)


def test_describe_draws_nothing():
    rng.seed(0)
    init.describe(init.Mixed([".*"], [init.Xavier()]), {"a_weight": (10, 10), "b_weight": (3, 3)})
    after = rng.uniform(0, 1, (4,))
    rng.seed(0)
    np.testing.assert_array_equal(after, rng.uniform(0, 1, (4,)))


def test_fused_rnn_pooled_constant_moments():
    row = row_of(init.FusedRNN(init.Constant(0.5), 2, 1, "lstm"), "rnn_weight", (56,))
    values = np.array([0.5] * 40 + [0, 0, 1, 1, 0, 0, 0, 0] * 2)
    assert row.mean == pytest.approx(values.mean()) and row.std == pytest.approx(values.std())


def test_load_rows():
    loader = init.Load({"arg:fc_weight": nd.array([[1, 3]])}, default_init=init.Normal(0.5))
    rows = init.describe(loader, {"fc_weight": (1, 2), "fc2_weight": (2, 2)})
    loaded = (rows[0].init, rows[0].rule, rows[0].mean, rows[0].std)
    assert loaded == ('["load", {"param": "<dict>"}]', "load", 2.0, 1.0)
    assert (rows[1].init, rows[1].std) == ('["normal", {"sigma": 0.5}]', 0.5)
    with pytest.raises(ValueError, match="Shape mismatch, target"):
        init.describe(loader, {"fc_weight": (2, 1)})


def test_unknown_moments_and_errors():
    class Custom(init.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 1

    row = row_of(Custom(), "w_weight", (2,))
    assert row.mean is None and row.std is None and row.init == '["custom", {}]'
    with pytest.raises(ValueError, match="did not match any pattern"):
        init.describe(init.Mixed(["fc.*"], [init.Zero()]), {"conv_weight": (2,)})
    with pytest.raises(ValueError, match="Unknown initialization pattern for data"):
        init.describe(init.Xavier(), {"data": (2, 3)})
    with pytest.raises(ValueError, match="cannot be applied to vector fc_weight"):
        init.describe(init.Xavier(), {"fc_weight": (3,)})
    with pytest.raises(NotImplementedError, match="Must override it"):
        init.describe(init.Initializer(), {"fc_weight": (3,)})


def test_shapes_as_pairs():
    rows = init.describe(init.Zero(), [("b_weight", (2,)), ("a_weight", 3)])
    assert [(r.name, r.shape, r.count) for r in rows] == [("b_weight", (2,), 2), ("a_weight", (3,), 3)]


def test_nested_mixed_pattern_path():
    inner = init.Mixed([".*weight"], [init.One()])
    row = row_of(init.Mixed(["fc.*", ".*"], [inner, init.Zero()]), "fc_weight", (2,))
    assert row.pattern == "fc.* > .*weight" and row.init == '["one", {}]'


def test_format_table():
    rows = init.describe(init.Mixed([".*bias", ".*"], [init.Zero(), init.Uniform(0.1)]),
                         {"fullyconnected0_weight": (1, 3), "fullyconnected0_bias": (1,)})
    text = init.format_table(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["name", "shape", "init", "pattern", "mean", "std", "count"]
    assert lines[2].split()[:2] == ["fullyconnected0_weight", "1x3"]
    assert '["uniform", {"scale": 0.1}]' in lines[2] and lines[2].split()[-2:] == ["0.057735", "3"]
    assert lines[3].split()[-3:] == ["0", "0", "1"] and ".*bias" in lines[3]
    assert lines[-1] == "total: 4 parameters in 2 arrays"
    unknown = init.ParamRow("x", (1000, 1000), "?", None, None, None, None, 10 ** 6)
    assert init.format_table([unknown]).splitlines()[-1] == "total: 1,000,000 parameters in 1 array"
