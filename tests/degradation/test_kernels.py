"""Kernels against their closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import j1

from degradation import kernels as K


@pytest.mark.parametrize("size", [7, 13, 21])
def test_every_kernel_is_normalised_and_centred(size: int) -> None:
    ks = [
        K.gaussian(size, 2.0),
        K.gaussian(size, 2.5, 0.8, 0.7),
        K.generalized_gaussian(size, 1.5, 2.5, -0.4, beta=0.7),
        K.plateau(size, 1.5, 2.5, 1.1, beta=1.5),
        K.sinc(size, np.pi / 3),
    ]
    for k in ks:
        assert k.shape == (size, size)
        assert k.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)  # point symmetry of every family
        assert np.unravel_index(np.argmax(k), k.shape) == (size // 2, size // 2)


def test_isotropic_kernels_have_all_symmetries() -> None:
    for k in (K.gaussian(11, 1.7), K.generalized_gaussian(11, 1.7, beta=2.0), K.plateau(11, 1.7, beta=1.3)):
        np.testing.assert_allclose(k, k.T, atol=1e-15)
        np.testing.assert_allclose(k, k[::-1], atol=1e-15)


def test_gaussian_matches_closed_form() -> None:
    sx, sy, th = 2.0, 0.7, 0.5
    k = K.gaussian(9, sx, sy, th)
    xx, yy = K.grid(9)
    c, s = np.cos(th), np.sin(th)
    u, v = c * xx + s * yy, -s * xx + c * yy  # coordinates in the rotated frame
    ref = np.exp(-0.5 * (u**2 / sx**2 + v**2 / sy**2))
    np.testing.assert_allclose(k, ref / ref.sum(), rtol=1e-12)


def test_generalized_with_beta_one_is_gaussian() -> None:
    np.testing.assert_allclose(K.generalized_gaussian(15, 2.2, 1.1, 0.3, beta=1.0), K.gaussian(15, 2.2, 1.1, 0.3))


def test_plateau_limits() -> None:
    xx, yy = K.grid(21)
    r2 = (xx**2 + yy**2) / 3.0**2
    # beta = 1: a Cauchy-like 1 / (1 + r^2 / sigma^2)
    ref = 1 / (1 + r2)
    np.testing.assert_allclose(K.plateau(21, 3.0, beta=1.0), ref / ref.sum(), rtol=1e-12)
    # large beta: flat inside the unit "radius", ~0 outside
    flat = K.plateau(21, 3.0, beta=40.0)
    inside, outside = flat[r2 < 0.8], flat[r2 > 1.25]
    assert inside.max() / inside.min() < 1.01 and outside.max() < 1e-3 * inside.min()


def test_sinc_matches_bessel_form_and_cutoff() -> None:
    omega = np.pi / 2
    k = K.sinc(21, omega)
    xx, yy = K.grid(21)
    r = np.hypot(xx, yy)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = omega * j1(omega * r) / (2 * np.pi * r)
    ref[10, 10] = omega**2 / (4 * np.pi)
    np.testing.assert_allclose(k, ref / ref.sum(), rtol=1e-12)
    # low-pass: the frequency response passes DC and falls well below it past the cutoff
    response = np.abs(np.fft.fft2(K.pad_to(k, 65)))
    freqs = np.fft.fftfreq(65) * 2 * np.pi
    radius = np.hypot(*np.meshgrid(freqs, freqs))
    assert response[0, 0] == pytest.approx(1.0)
    assert response[radius < 0.6 * omega].min() > 0.8
    assert response[radius > 1.6 * omega].max() < 0.2


def test_kernel_spec_builds_each_family() -> None:
    for t in K.KERNEL_TYPES:
        k = K.KernelSpec(t, 9, 1.5, 0.8, 0.4, 1.5, 2.0).build()
        assert k.shape == (9, 9) and k.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="odd"):
        K.gaussian(8, 1.0)
