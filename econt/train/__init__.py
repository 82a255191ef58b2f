"""Training of the ECON-T autoencoder: losses, training loop, evaluation, per-region weights.

Public entry points: :func:`econt.train.stage.run_training` (a :class:`econt.train.config.TrainConfig`),
:func:`econt.train.stage.run_stage` (the ``make all`` orchestrator) and the CLI ``econt train``.
Losses live in :mod:`econt.train.losses`.
"""
