"""Data stage: the Dataset type, readers (training CSV, ePortRX words), the synthetic
generator, hardware normalisation and stratified splits. See data/README.md for formats."""
from __future__ import annotations

from econt.data.dataset import Dataset, regions_from_eta, regions_from_thickness
from econt.data.splits import split_dataset

__all__ = ["Dataset", "regions_from_eta", "regions_from_thickness", "split_dataset"]
