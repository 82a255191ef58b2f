"""EMD stage: exact Earth mover's distance (``econt.emd.exact``) and the learned,
differentiable EMD-CNN with its training pairs, evaluation and Keras loss (``econt.emd.cnn``).

Importing this package is cheap; TensorFlow is imported only by ``econt.emd.cnn``.
"""
