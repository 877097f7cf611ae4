"""DOVER (Wu et al., ICCV 2023), re-implemented to load the released `DOVER.pth` and score as the official
evaluation does.

- `views`: which frames and fragments each branch sees (official `dover.yml` settings), seeded sampling;
- `swin3d`: technical backbone (Video Swin-T with gated fragment biases);
- `convnext3d`: aesthetic backbone (ConvNeXt-T inflated to 3D);
- `model`: the two-branch network, weight loading, the official score fusion.

The registered metrics (`dover_overall`, `dover_technical`, `dover_aesthetic`) are `benchmark.metrics.video.DOVER`.
"""
