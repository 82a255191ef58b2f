"""OpenSTA: the kit task for Debian OpenSTA 2.0.17 (timing; OpenSTA's own power as a diagnostic)."""
