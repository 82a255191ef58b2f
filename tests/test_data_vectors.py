"""The one ECON-T vector loader (econt.data.vectors): cell order, metadata, and every consumer
of the real vectors seeing the same 48 charges per crossing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from econt.data.dataset import Dataset
from econt.data.eportrx import input_config_from_init_yaml, read_eportrx_csv
from econt.data.vectors import (
    ORDER_KEY,
    cells_to_chip,
    chip_to_cells,
    dataset_order,
    in_order,
    load_econt_vectors,
    shared_econt_vectors,
)
from econt.errors import DataError

N = 40


def _nonempty_crossing(ds: Dataset) -> int:
    """A crossing past the first few with many hit cells (any permutation error shows on it)."""
    occ = (ds.charges[:N] > 0).sum(axis=1)
    return int(np.argmax(occ))


def test_order_and_metadata(shared: Path, tmp_path: Path) -> None:
    cells = load_econt_vectors(limit=N)
    chip = load_econt_vectors(limit=N, order="chip")
    assert len(cells) == len(chip) == N
    assert dataset_order(cells) == "cells" and dataset_order(chip) == "chip"
    assert "cell order: cells" in cells.source and "init.yaml" in cells.source and "testInput.csv" in cells.source
    np.testing.assert_array_equal(cells_to_chip(cells.charges), chip.charges)
    np.testing.assert_array_equal(chip_to_cells(chip.charges), cells.charges)
    # the chip order is what the decoder (mux output) gives; the kit order is a real permutation of it
    words = shared / "econt-vectors" / "testInput.csv"
    init = shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras" / "init.yaml"
    raw = read_eportrx_csv(words, input_config_from_init_yaml(init))
    np.testing.assert_array_equal(raw.charges[:N], chip.charges)
    assert not np.array_equal(raw.charges[:N], cells.charges)
    # conversions follow the record, and the record survives the .npz file
    np.testing.assert_array_equal(in_order(chip, "cells").charges, cells.charges)
    assert in_order(cells, "cells") is cells
    back = Dataset.load(cells.save(tmp_path / "real.npz"))
    assert dataset_order(back) == "cells"
    np.testing.assert_array_equal(in_order(back, "chip").charges, chip.charges)
    # datasets without a record (CSV, synthetic) are in cell order
    assert dataset_order(Dataset(np.zeros((2, 48)))) == "cells"


def test_both_shared_configurations_decode_alike(shared: Path) -> None:
    """AE/ (msb_first in-word order, mux reversed to match) and AE_8x8_c8_S2_ele_qkeras/
    (lsb_first) give the same charges for every crossing: one default init.yaml is enough."""
    a = shared_econt_vectors(config="AE_8x8_c8_S2_ele_qkeras")
    b = shared_econt_vectors(config="AE")
    assert len(a) == len(b) == 3564
    np.testing.assert_array_equal(a.charges, b.charges)


def test_bad_requests(shared: Path) -> None:
    with pytest.raises(DataError, match="order"):
        load_econt_vectors(order="mux")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="limit"):
        load_econt_vectors(limit=-1)
    mixed = Dataset(np.zeros((2, 48)), {ORDER_KEY: np.array(["cells", "chip"])}, "mixed")
    with pytest.raises(DataError, match="one order"):
        dataset_order(mixed)


def test_kit_order_is_the_one_the_chip_encodes(shared: Path) -> None:
    """The loader's cell order through the encoder's cell-order entry gives the chip's latents."""
    from econt.model.integer import IntegerEncoder
    from econt.verify.conformance import load_chip_config
    from econt.verify.conformance.run import golden_chain

    init = shared / "econt-vectors" / "AE_8x8_c8_S2_ele_qkeras" / "init.yaml"
    chip = load_chip_config(init)
    trace = golden_chain(shared / "econt-vectors" / "testInput.csv", chip, N)
    lat, ms = IntegerEncoder(chip.weights, arithmetic="chip").encode_calq(
        np.asarray(load_econt_vectors(limit=N).charges, np.int64), calq_order="cells")
    np.testing.assert_array_equal(lat, trace.latents)
    np.testing.assert_array_equal(ms, trace.modsum)


def test_one_crossing_through_every_consumer(shared: Path) -> None:
    """data, train, emd, verify, asic and conformance all see the same 48 charges of a crossing."""
    from econt.asic.activity import make_stimulus
    from econt.data.stage import load_shared_vectors
    from econt.emd.evaluate import real_vector_inputs
    from econt.model.config import load_encoder_config
    from econt.train.config import TrainConfig
    from econt.train.stage import load_real_vectors
    from econt.verify.conformance import load_chip_config, shared_cases
    from econt.verify.conformance.run import golden_chain
    from econt.verify.stimulus import real_calq

    ref = load_econt_vectors(limit=N)
    k = _nonempty_crossing(ref)
    want = ref.charges[k]
    assert (want > 0).sum() > 10
    nonempty_before = int((ref.charges[:k].sum(axis=1) > 0).sum())   # train and emd drop empty crossings

    seen: dict[str, np.ndarray] = {}
    seen["data"] = load_shared_vectors().charges[k]
    split, _info = load_real_vectors(TrainConfig(), load_encoder_config())
    seen["train"] = split.charges[nonempty_before]
    seen["emd"] = real_vector_inputs().charges[nonempty_before]
    seen["verify"] = real_calq(N)[k]
    seen["asic"] = make_stimulus("econt-vectors", N, seed=0, has_cfg_port=False).calq[k]
    for case in shared_cases():
        trace = golden_chain(case.inputs, load_chip_config(case.init_yaml), N)
        seen[f"conformance {case.name} (chip order, as the chip's input block gives it)"] = \
            chip_to_cells(trace.calq)[k]
    for name, got in seen.items():
        np.testing.assert_array_equal(np.asarray(got, np.float64), want, err_msg=name)
