"""``mx.nd.linalg``: values against numpy, MXNet's packing orders and shapes, gradients of first and second order."""
import numpy as np
import pytest

import trainkit as mx
from trainkit import nd
from trainkit.base import MXNetError

from gradcheck import check_grads

L = nd.linalg
rng = np.random.default_rng(5)


def r(*shape):
    return rng.uniform(-1.0, 1.0, shape)


def spd(n, batch=()):
    a = rng.uniform(-1.0, 1.0, batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def lower(n, batch=()):
    return np.tril(r(*batch, n, n)) + 2 * np.eye(n)


def sym(x):
    """Symmetrise inside the checked function, so finite differences see a symmetric input."""
    return (x + nd.transpose(x, (0, 2, 1) if x.ndim == 3 else None)) * 0.5


def test_namespaces_and_legacy_names():
    assert L.gemm2 is nd.linalg.gemm2 and callable(nd.linalg_gemm2) and callable(nd._linalg_potrf)
    assert hasattr(mx.sym.linalg, "syevd") and not hasattr(nd, "linalg_syevd")  # as in MXNet 1.9.1


# ----- products ----------------------------------------------------------------------------------
def test_gemm_gemm2_values_transposes_and_axis():
    a, b, c = r(2, 3, 4), r(2, 5, 4), r(2, 3, 5)
    got = L.gemm(nd.array(a), nd.array(b), nd.array(c), transpose_b=True, alpha=2.0, beta=0.5)
    np.testing.assert_allclose(got.asnumpy(), 2 * a @ np.swapaxes(b, 1, 2) + 0.5 * c, rtol=1e-5)
    got = L.gemm2(nd.array(a), nd.array(a), transpose_a=True)
    np.testing.assert_allclose(got.asnumpy(), np.swapaxes(a, 1, 2) @ a, rtol=1e-5)
    # axis=0: the matrix rows are axis 0, the columns the last axis
    x, y = r(3, 2, 4), r(4, 2, 5)
    got = L.gemm2(nd.array(x), nd.array(y), axis=0)
    assert got.shape == (3, 2, 5)
    np.testing.assert_allclose(got.asnumpy(), np.einsum("ibk,kbj->ibj", x, y), rtol=1e-5)
    with pytest.raises(MXNetError, match="inner dimensions 4 and 3"):
        L.gemm2(nd.array(a), nd.array(c))
    check_grads(lambda p, q, s: L.gemm(p, q, s, transpose_a=True, alpha=1.5, beta=-0.5), r(3, 2), r(3, 4),
                r(2, 4))
    check_grads(lambda p, q: L.gemm2(p, q, axis=0), r(2, 2, 3), r(3, 2, 2))


def test_syrk_and_trmm():
    a = r(2, 3, 4)
    np.testing.assert_allclose(L.syrk(nd.array(a), alpha=2.0).asnumpy(), 2 * a @ np.swapaxes(a, 1, 2), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(L.syrk(nd.array(a), transpose=True).asnumpy(), np.swapaxes(a, 1, 2) @ a,
                               rtol=1e-5, atol=1e-6)
    t, b = r(3, 3), r(3, 2)
    np.testing.assert_allclose(L.trmm(nd.array(t), nd.array(b)).asnumpy(), np.tril(t) @ b, rtol=1e-5, atol=1e-6)
    got = L.trmm(nd.array(t), nd.array(b.T), rightside=True, lower=False, transpose=True, alpha=3.0)
    np.testing.assert_allclose(got.asnumpy(), 3 * b.T @ np.triu(t).T, rtol=1e-5)
    check_grads(lambda p: L.syrk(p), r(2, 3))
    check_grads(lambda p, q: L.trmm(p, q, transpose=True), r(3, 3), r(3, 2))


# ----- triangular solve and Cholesky ------------------------------------------------------------------
@pytest.mark.parametrize("transpose,rightside,is_lower", [(False, False, True), (True, False, True),
                                                          (False, True, False), (True, True, True)])
def test_trsm_solves_and_differentiates(transpose, rightside, is_lower):
    a = lower(3) if is_lower else lower(3).T
    b = r(3, 2) if not rightside else r(2, 3)
    x = L.trsm(nd.array(a), nd.array(b), transpose=transpose, rightside=rightside, lower=is_lower, alpha=0.5)
    m = a.T if transpose else a
    np.testing.assert_allclose((x.asnumpy() @ m) if rightside else (m @ x.asnumpy()), 0.5 * b, rtol=1e-5,
                               atol=1e-6)
    check_grads(lambda p, q: L.trsm(p, q, transpose=transpose, rightside=rightside, lower=is_lower, alpha=0.5),
                a, b)


def test_potrf_potri_and_their_gradients():
    a = spd(3, (2,))
    chol = L.potrf(nd.array(a)).asnumpy()
    np.testing.assert_allclose(chol, np.linalg.cholesky(a), rtol=1e-5)
    np.testing.assert_allclose(L.potri(nd.array(chol)).asnumpy(), np.linalg.inv(a), rtol=1e-4, atol=1e-6)
    check_grads(lambda p: L.potrf(sym(p)), spd(3))
    check_grads(lambda p: L.potri(p), lower(3), order=1)
    # MXNet's convention: a symmetric gradient for potrf; the upper triangle of the head gradient is ignored
    x = nd.array(spd(3))
    x.attach_grad()
    with mx.autograd.record():
        y = L.potrf(x)
    y.backward(nd.array(np.triu(np.ones((3, 3)), 1)))
    np.testing.assert_array_equal(x.grad.asnumpy(), np.zeros((3, 3)))
    with pytest.raises(MXNetError, match="positive definite"):
        L.potrf(nd.array([[1.0, 2.0], [2.0, 1.0]]))


def test_sumlogdiag_of_the_cholesky_factor_is_half_logdet():
    a = spd(3)
    got = L.sumlogdiag(L.potrf(nd.array(a)))
    assert got.shape == (1,)
    np.testing.assert_allclose(got.asnumpy(), [0.5 * np.linalg.slogdet(a)[1]], rtol=1e-5)
    assert L.sumlogdiag(nd.array(spd(2, (4,)))).shape == (4,)
    check_grads(lambda p: L.sumlogdiag(p), spd(3))


# ----- inverse and determinants -------------------------------------------------------------------
def test_inverse_det_slogdet():
    a = spd(3, (2,)) - 2 * np.eye(3)
    np.testing.assert_allclose(L.inverse(nd.array(a)).asnumpy(), np.linalg.inv(a), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(L.det(nd.array(a)).asnumpy(), np.linalg.det(a), rtol=1e-5)
    sign, logabs = L.slogdet(nd.array(a))
    np.testing.assert_allclose(sign.asnumpy(), np.linalg.slogdet(a)[0])
    np.testing.assert_allclose(logabs.asnumpy(), np.linalg.slogdet(a)[1], rtol=1e-5)
    assert L.det(nd.array(a[0])).shape == (1,)  # one matrix: shape (1,), as MXNet's legacy arrays
    m = r(3, 3) + 2 * np.eye(3)
    check_grads(L.inverse, m)
    check_grads(L.det, m)
    check_grads(lambda p: L.slogdet(p)[1], m)
    with pytest.raises(MXNetError, match="square matrices"):
        L.inverse(nd.ones((2, 3)))


# ----- diagonals and packed triangles -----------------------------------------------------------------
def test_diagonals_and_triangles_in_mxnets_order():
    a = nd.array(np.arange(1.0, 17.0).reshape(4, 4))
    np.testing.assert_array_equal(L.extractdiag(a, offset=1).asnumpy(), [2, 7, 12])
    np.testing.assert_array_equal(L.makediag(nd.array([1.0, 2.0]), offset=-1).asnumpy(),
                                  [[0, 0, 0], [1, 0, 0], [0, 2, 0]])
    # MXNet 1.9.1's packing: the lower triangle row by row; the upper one as the lower triangle of Aᵀ
    np.testing.assert_array_equal(L.extracttrian(a).asnumpy(), [1, 5, 6, 9, 10, 11, 13, 14, 15, 16])
    np.testing.assert_array_equal(L.extracttrian(a, lower=False).asnumpy(), [1, 2, 6, 3, 7, 11, 4, 8, 12, 16])
    np.testing.assert_array_equal(L.extracttrian(a, offset=1).asnumpy(), [2, 3, 7, 4, 8, 12])
    np.testing.assert_array_equal(L.extracttrian(a, offset=-1).asnumpy(), [5, 9, 10, 13, 14, 15])
    v = nd.array([1.0, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(L.maketrian(v).asnumpy(), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(L.maketrian(v, offset=1).asnumpy(),
                                  [[0, 1, 2, 4], [0, 0, 3, 5], [0, 0, 0, 6], [0, 0, 0, 0]])
    for offset, low in ((0, True), (0, False), (-1, True), (2, True)):
        back = L.maketrian(L.extracttrian(a, offset=offset, lower=low), offset=offset, lower=low)
        assert back.shape == (4, 4)
    with pytest.raises(MXNetError, match="triangle's size"):
        L.maketrian(nd.ones((4,)))
    check_grads(lambda p: L.extracttrian(p, offset=-1) ** 2, r(2, 3, 3))
    check_grads(lambda p: L.maketrian(p, lower=False) ** 2, r(6))
    check_grads(lambda p: L.makediag(L.extractdiag(p, offset=1), offset=-1) ** 2, r(3, 3))


# ----- LQ and eigendecomposition -------------------------------------------------------------------
def test_gelqf_factorises_and_differentiates():
    a = r(2, 2, 3)
    q, l_ = L.gelqf(nd.array(a))
    q, l_ = q.asnumpy(), l_.asnumpy()
    np.testing.assert_allclose(l_ @ q, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(q @ np.swapaxes(q, 1, 2), np.broadcast_to(np.eye(2), (2, 2, 2)), atol=1e-6)
    np.testing.assert_array_equal(np.triu(l_, 1), np.zeros_like(l_))
    check_grads(lambda p: L.gelqf(p), r(2, 3), order=1)
    with pytest.raises(MXNetError, match="no more rows than columns"):
        L.gelqf(nd.ones((3, 2)))


def test_syevd_eigenvalues_ascending_and_gradients():
    a = spd(3) - 3 * np.eye(3)
    u, lam = L.syevd(nd.array(a))
    u, lam = u.asnumpy(), lam.asnumpy()
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(a), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u.T @ np.diag(lam) @ u, a, rtol=1e-4, atol=1e-5)
    check_grads(lambda p: L.syevd(sym(p))[1], a)
    # eigenvectors' signs are arbitrary: check a sign-free function of them
    check_grads(lambda p: L.syevd(sym(p))[0] ** 2, a, order=1)


def test_syevd_signs_and_upper_cholesky_as_mxnet():
    u, lam = L.syevd(nd.array([[1.0, 2.0], [2.0, 4.0]]))
    np.testing.assert_allclose(u.asnumpy(), [[0.8944272, -0.4472136], [0.4472136, 0.8944272]], rtol=1e-6)
    np.testing.assert_allclose(lam.asnumpy(), [0.0, 5.0], atol=1e-6)
    a = spd(3)
    upper = L.potrf(nd.array(a), lower=False).asnumpy()
    np.testing.assert_allclose(upper, np.linalg.cholesky(a).T, rtol=1e-5)
    np.testing.assert_allclose(L.potri(nd.array(upper), lower=False).asnumpy(), np.linalg.inv(a), rtol=1e-4,
                               atol=1e-6)
