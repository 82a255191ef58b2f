"""Design-space exploration: the Pareto front of reconstruction quality against silicon cost.

``config``: the declarative study (``configs/sweep/*.yaml``), validated on load; ``study``: the
seeded multi-objective Optuna study, its storage (a journal file under ``build/sweep/`` by
default, or any Optuna RDB URL such as PostgreSQL) and the mapping from a trial's sampled
choices to the encoder and RTL configs of the design it evaluates.
"""
