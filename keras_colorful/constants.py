"""Every magic number of the method, once, with its source.

Sources: Zhang, Isola, Efros, "Colorful Image Colorization", ECCV 2016 (arXiv 1603.08511), and the
authors' release (Caffe model, PyTorch port); see ../shared/reference/METHOD.md.
"""

# Model input normalisation: (L - L_CENTER) / L_SCALE (PyTorch port; the Caffe model took L - 50).
L_CENTER = 50.0
L_SCALE = 100.0
# ab normalisation where a regression is needed; the release's decode multiplies by 110.
AB_SCALE = 110.0

# Quantised ab space: 313 in-gamut bins of a 10-unit grid (paper Sec. 2.1, pts_in_hull.npy).
NUM_BINS = 313
BIN_GRID_SIZE = 10.0

# Soft encoding (paper Sec. 2.1): Gaussian kernel sigma 5; the paper says 5 neighbours, the
# released training code used 10 (the first author called 5 a typo).
SOFT_ENCODE_SIGMA = 5.0
SOFT_ENCODE_NEIGHBORS = 10

# Class rebalancing (paper Eq. 3-4): lambda 0.5, prior smoothed with a sigma-5 Gaussian.
REBALANCE_LAMBDA = 0.5
PRIOR_SMOOTHING_SIGMA = 5.0

# Annealed mean (paper Sec. 2.2): T = 0.38 (the Caffe release scaled logits by 2.606 = 1 / 0.3838).
ANNEALED_MEAN_TEMPERATURE = 0.38

# Gray mask (release's NonGrayMaskLayer): an image whose |a| and |b| never exceed 5 is gray.
GRAY_THRESHOLD = 5.0

# Targets are ab subsampled by 4, every 4th pixel from the top-left (release's data layer).
AB_SUBSAMPLE = 4

# Training crops (release): random 176x176 crops with mirroring, batch 40.
TRAIN_CROP_SIZE = 176
TRAIN_BATCH_SIZE = 40
