from __future__ import annotations

import numpy as np
import pytest
import torch

from vsrcore.tensors import float_to_uint8, rgb_to_y, rgb_to_ycbcr, uint8_to_float, ycbcr_to_rgb


def test_uint8_float_round_trip(tiny_video: np.ndarray) -> None:
    x = uint8_to_float(tiny_video)
    assert x.dtype == torch.float32 and x.shape == (16, 3, 48, 64)
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    np.testing.assert_array_equal(float_to_uint8(x), tiny_video)


def test_uint8_to_float_rejects_wrong_layout() -> None:
    with pytest.raises(ValueError, match="uint8"):
        uint8_to_float(np.zeros((2, 3, 8, 8), np.uint8))


def test_bt601_known_values() -> None:
    # MATLAB rgb2ycbcr: white -> (235, 128, 128), black -> (16, 128, 128), pure red Y = 16 + 65.481 = 81.481.
    rgb = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    ycc = rgb_to_ycbcr(rgb, channel_axis=-1) * 255
    np.testing.assert_allclose(ycc[0], [235, 128, 128], atol=1e-3)
    np.testing.assert_allclose(ycc[1], [16, 128, 128], atol=1e-9)
    np.testing.assert_allclose(ycc[2, 0], 81.481, atol=1e-9)
    np.testing.assert_allclose(rgb_to_y(rgb, channel_axis=-1)[..., 0], ycc[:, 0] / 255, atol=1e-12)


def test_numpy_and_torch_agree_and_invert(rng: np.random.Generator) -> None:
    x = rng.random((2, 3, 5, 7)).astype(np.float32)
    t = torch.from_numpy(x)
    np.testing.assert_allclose(rgb_to_ycbcr(t).numpy(), rgb_to_ycbcr(x), atol=1e-6)
    np.testing.assert_allclose(rgb_to_y(t).numpy(), rgb_to_y(x), atol=1e-6)
    assert rgb_to_y(t).shape == (2, 1, 5, 7)
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-5)
    torch.testing.assert_close(ycbcr_to_rgb(rgb_to_ycbcr(t)), t, atol=1e-5, rtol=0)
