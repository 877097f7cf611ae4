"""Blur kernels of the Real-ESRGAN family, written from their closed forms (numpy, float64).

For a k x k kernel on the integer grid x in {-(k-1)/2, ..., (k-1)/2}^2 and the covariance
Sigma = R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T, with q(x) = x^T Sigma^-1 x:
- Gaussian:             exp(-q / 2)
- generalized Gaussian: exp(-q^beta / 2)      (beta = 1 is the Gaussian)
- plateau:              1 / (1 + q^beta)
- sinc (circular low-pass with cutoff omega): omega J1(omega r) / (2 pi r), centre omega^2 / (4 pi)
Every kernel is normalised to sum 1. Isotropic kernels have sigma_x = sigma_y and theta = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso", "sinc")


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer coordinates (xx, yy), each (size, size), centred on 0; `size` must be odd."""
    if size % 2 == 0 or size < 1:
        raise ValueError(f"kernel size must be odd and positive, got {size}")
    r = np.arange(-(size // 2), size // 2 + 1, dtype=np.float64)
    xx, yy = np.meshgrid(r, r)
    return xx, yy


def sigma_matrix(sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """Covariance R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T (2 x 2)."""
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T


def _quadratic(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    xx, yy = grid(size)
    inv = np.linalg.inv(sigma_matrix(sigma_x, sigma_y, theta))
    return inv[0, 0] * xx**2 + (inv[0, 1] + inv[1, 0]) * xx * yy + inv[1, 1] * yy**2


def gaussian(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0) -> np.ndarray:
    """Anisotropic (or, with sigma_y None, isotropic) Gaussian kernel, sum 1."""
    k = np.exp(-0.5 * _quadratic(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta))
    return k / k.sum()


def generalized_gaussian(
    size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0, beta: float = 1.0
) -> np.ndarray:
    """exp(-q^beta / 2), sum 1; heavier tails for beta < 1, flatter top for beta > 1."""
    k = np.exp(-0.5 * np.power(_quadratic(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta), beta))
    return k / k.sum()


def plateau(
    size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0, beta: float = 1.0
) -> np.ndarray:
    """1 / (1 + q^beta), sum 1; tends to a flat disc as beta grows."""
    k = 1.0 / (1.0 + np.power(_quadratic(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta), beta))
    return k / k.sum()


def sinc(size: int, omega: float) -> np.ndarray:
    """Circular low-pass (2-D sinc, Bessel J1) with cutoff `omega` in radians per pixel, sum 1."""
    from scipy.special import j1

    xx, yy = grid(size)
    r = np.hypot(xx, yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = omega * j1(omega * r) / (2 * np.pi * r)
    k[size // 2, size // 2] = omega**2 / (4 * np.pi)
    return k / k.sum()


def pad_to(kernel: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad a square odd kernel to `size` x `size` (centred)."""
    p = (size - kernel.shape[0]) // 2
    if p < 0 or (size - kernel.shape[0]) % 2:
        raise ValueError(f"cannot pad a {kernel.shape[0]}x{kernel.shape[0]} kernel to {size}")
    return np.pad(kernel, p)


@dataclass(frozen=True)
class KernelSpec:
    """One concrete kernel: its family, size and shape parameters (what a record stores per frame)."""

    type: str
    size: int
    sigma_x: float = 0.0
    sigma_y: float = 0.0
    theta: float = 0.0
    beta: float = 1.0
    omega: float = 0.0

    def build(self) -> np.ndarray:
        """The kernel as a float64 (size, size) array."""
        t = self.type
        if t == "sinc":
            return sinc(self.size, self.omega)
        sy = self.sigma_x if t.endswith("_iso") or t == "iso" else self.sigma_y
        theta = 0.0 if t.endswith("iso") and not t.endswith("aniso") else self.theta
        if t in ("iso", "aniso"):
            return gaussian(self.size, self.sigma_x, sy, theta)
        if t.startswith("generalized"):
            return generalized_gaussian(self.size, self.sigma_x, sy, theta, self.beta)
        if t.startswith("plateau"):
            return plateau(self.size, self.sigma_x, sy, theta, self.beta)
        raise ValueError(f"unknown kernel type '{t}' (known: {', '.join(KERNEL_TYPES)})")
