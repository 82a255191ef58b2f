"""ECON-T ePortRX input words → CALQ charges, bit-exactly as the ECON-T emulator.

Specification: cmantill/ECONT_Emulator ``ASICBlocks/`` (read as a spec, not copied):

1. Word layout — ``LoadData_ePortRX.splitEportRXData``: each of the 12 words of a
   bunch crossing carries 4 trigger cells of 7 bits. The in-word order differs between
   emulator generations (``EcontInputConfig.cell_order_in_word``): ``"msb_first"`` — trigger
   cell ``4k+j`` of word ``k`` is bits ``27-7j .. 21-7j`` (j = 0: bits 27..21, j = 3: bits 6..0),
   the older loader; ``"lsb_first"`` — cell ``4k+j`` is bits ``7j+6 .. 7j`` (j = 0: bits 6..0),
   the later loader. The shared vectors were made with both: ``AE/init.yaml`` (``ConfigAlgo``
   schema) is msb_first, ``AE_8x8_c8_S2_ele_qkeras/init.yaml`` (``Algorithm`` schema) is
   lsb_first; their mux tables differ exactly by the within-word reversal, and with these orders
   the kit reproduces every output word of both (``econt conformance run``).
   :func:`input_config_from_init_yaml` picks the order from the schema. Bits 31..28 are the
   4-bit header (0xA, and 0x9 on the first crossing, in ``testInput.csv``; 0 in the
   decimal ``ePortRX_example_10kBX.csv``); the emulator's loader strips it before the split.
2. Mux — ``MuxFixCalib.Mux``: ``Mux_out[i] = Mux_in[mux[i]]``, ``mux`` from the
   ``MFC_MUX_SELECT`` registers (init.yaml ``Mux:``); the default is
   ``MuxFixCalib.getMuxRegisters()``: the LDM_TC_Mapping table sorted by post-mux index.
3. Float-to-fixed — ``MuxFixCalib.FloatToFix`` → ``Utils/encode.decode`` with
   ``droppedBits = 3 if isHDM else 1``, bin-centre decoding (:mod:`econt.data.floatcode`).
4. Calibration — ``MuxFixCalib.Calibrate``: ``CALQ = int(F2F * CAL * 2**-11)`` =
   ``(F2F * CAL) >> 11`` for these non-negative integers; CAL is a 12-bit register,
   2048 = 1.0. F2F is at most 2,031,616 (HDM) so CALQ fits in 22 bits.

Output: :class:`~econt.data.dataset.Dataset` with ``charges[:, i] = CALQ_i`` in
mux-output order, metadata ``bx`` (row index) and ``header``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from econt.data._csvtools import SkipReport, fail_or_skip, finish, read_lines
from econt.data.dataset import Dataset
from econt.data.floatcode import decode_float
from econt.errors import ConfigError, DataError

N_WORDS = 12
#: Emulator default mux (``getMuxRegisters()``): Mux_out[i] = Mux_in[DEFAULT_MUX[i]],
#: from Utils/LDM_TC_Mapping.csv (ECON_TC_Number_PreMux sorted by ECON_TC_Number_PostMux).
DEFAULT_MUX: tuple[int, ...] = (
    7, 4, 5, 6, 3, 1, 0, 2, 8, 9, 10, 11, 14, 13, 12, 15, 23, 20, 21, 22, 19, 17, 16, 18,
    25, 24, 26, 27, 30, 31, 28, 29, 38, 37, 39, 46, 36, 34, 33, 35, 40, 32, 41, 42, 47, 45, 43, 44)
UNIT_CALIBRATION = 2048
#: Header nibbles seen in real ECON-T input: none (0), 0x9 (first crossing), 0xA.
ALLOWED_HEADERS: frozenset[int] = frozenset({0x0, 0x9, 0xA})


CellOrder = Literal["msb_first", "lsb_first"]


@dataclass(frozen=True)
class EcontInputConfig:
    """Input-block registers: mux select (48), calibration (48, 12-bit, 2048 = 1.0), density;
    plus the ePortRX in-word trigger-cell order of the emulator generation (module docstring)."""

    mux: tuple[int, ...] = DEFAULT_MUX
    calibration: tuple[int, ...] = (UNIT_CALIBRATION,) * 48
    high_density: bool = False
    cell_order_in_word: CellOrder = "msb_first"

    def __post_init__(self) -> None:
        self.validate("EcontInputConfig")

    def validate(self, source: str) -> None:
        if len(self.mux) != 48 or any((not isinstance(m, (int, np.integer))) or m < 0 or m > 47 for m in self.mux):
            raise ConfigError(f"{source}: mux must be 48 integers in 0..47, got {list(self.mux)}.")
        if len(self.calibration) != 48 or any((not isinstance(c, (int, np.integer))) or c < 0 or c > 4095
                                              for c in self.calibration):
            raise ConfigError(f"{source}: calibration must be 48 integers in 0..4095 (12-bit, 2048 = 1.0).")
        if self.cell_order_in_word not in ("msb_first", "lsb_first"):
            raise ConfigError(f"{source}: cell_order_in_word must be 'msb_first' or 'lsb_first', "
                              f"got {self.cell_order_in_word!r}.")

    @property
    def drop_bits(self) -> int:
        return 3 if self.high_density else 1


def _indexed_block(doc: dict, key: str, path: Path) -> tuple[int, ...] | None:
    if key not in doc:
        return None
    block = doc[key]
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: '{key}' must be a mapping 0..47 → value, got {type(block).__name__}.")
    try:
        keys = sorted(int(k) for k in block)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: '{key}' keys must be the integers 0..47.") from exc
    if keys != list(range(48)):
        missing = sorted(set(range(48)) - set(keys))
        raise ConfigError(f"{path}: '{key}' must have entries 0..47; missing {missing or 'none'}, "
                          f"extra {sorted(set(keys) - set(range(48))) or 'none'}.")
    vals = []
    for i in range(48):
        v = block.get(i, block.get(str(i)))
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{path}: '{key}.{i}' must be an integer, got {v!r}.")
        vals.append(v)
    return tuple(vals)


def input_config_from_init_yaml(path: str | Path,
                                cell_order_in_word: CellOrder | Literal["auto"] = "auto") -> EcontInputConfig:
    """Mux, calibration and density from an ECON-T ``init.yaml`` (missing blocks → defaults).

    Density: ``Algorithm.Global.density`` or ``ConfigAlgo.Global.alg_high_density``
    (1 = high-density module, 3 dropped bits), the two spellings used by the shared files.
    ``cell_order_in_word="auto"``: ``"lsb_first"`` for the ``Algorithm`` schema, ``"msb_first"``
    for ``ConfigAlgo`` or neither (module docstring); pass an order to override.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: init.yaml not found. Give the path of an ECON-T init.yaml.")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: top level must be a mapping of register blocks.")
    input_blocks = [k for k in ("Mux", "Cal", "Algorithm", "ConfigAlgo") if k in doc]
    if not input_blocks:
        found = ", ".join(map(str, list(doc)[:6])) or "nothing (empty file)"
        raise ConfigError(f"{path}: no ECON-T input-block registers (Mux, Cal, Algorithm or ConfigAlgo) — found "
                          f"{found}. Give the chip's full init.yaml (an Encoder-only export carries weights, not "
                          "the mux/calibration/density), or omit --init-yaml to decode with the documented "
                          "low-density defaults.")
    mux = _indexed_block(doc, "Mux", path) or DEFAULT_MUX
    cal = _indexed_block(doc, "Cal", path) or (UNIT_CALIBRATION,) * 48
    density = 0
    for block, key in (("Algorithm", "density"), ("ConfigAlgo", "alg_high_density")):
        g = (doc.get(block) or {}).get("Global") or {}
        if key in g:
            density = g[key]
            if density not in (0, 1):
                raise ConfigError(f"{path}: '{block}.Global.{key}' must be 0 or 1, got {density!r}.")
    if cell_order_in_word == "auto":
        order: CellOrder = "lsb_first" if "Algorithm" in doc else "msb_first"
    elif cell_order_in_word in ("msb_first", "lsb_first"):
        order = cell_order_in_word
    else:
        raise ConfigError(f"{path}: cell_order_in_word must be 'auto', 'msb_first' or 'lsb_first', "
                          f"got {cell_order_in_word!r}.")
    cfg = EcontInputConfig(mux=tuple(int(m) for m in mux), calibration=tuple(int(c) for c in cal),
                           high_density=bool(density), cell_order_in_word=order)
    cfg.validate(str(path))
    return cfg


def word_headers(words: np.ndarray) -> np.ndarray:
    """Bits 31..28 of each word."""
    return (np.asarray(words, dtype=np.int64) >> 28) & 0xF


def decode_words(words: np.ndarray, cell_order_in_word: CellOrder = "msb_first") -> np.ndarray:
    """``(N, 12)`` 32-bit words → ``(N, 48)`` 7-bit codes in mux-input order (header ignored)."""
    w = np.asarray(words, dtype=np.int64)
    if w.ndim != 2 or w.shape[1] != N_WORDS:
        raise DataError(f"decode_words: expected words of shape (N, 12), got {w.shape}.")
    if w.size and (w.min() < 0 or w.max() > 0xFFFFFFFF):
        raise DataError("decode_words: words must be 32-bit unsigned integers.")
    if cell_order_in_word not in ("msb_first", "lsb_first"):
        raise DataError(f"decode_words: cell_order_in_word must be 'msb_first' or 'lsb_first', got {cell_order_in_word!r}.")
    data = w & 0x0FFFFFFF
    shifts = (21, 14, 7, 0) if cell_order_in_word == "msb_first" else (0, 7, 14, 21)
    codes = np.stack([(data >> s) & 0x7F for s in shifts], axis=-1)
    return codes.reshape(w.shape[0], 48)


def apply_mux(values: np.ndarray, mux: tuple[int, ...] | np.ndarray = DEFAULT_MUX) -> np.ndarray:
    """``out[:, i] = values[:, mux[i]]`` (MuxFixCalib.Mux)."""
    return np.asarray(values)[:, np.asarray(mux, dtype=np.int64)]


def float_to_fixed(codes7: np.ndarray, high_density: bool = False) -> np.ndarray:
    """7-bit codes → fixed-point charges (MuxFixCalib.FloatToFix; drop 3 bits for HDM, 1 for LDM)."""
    return decode_float(codes7, drop_bits=3 if high_density else 1)


def apply_calibration(f2f: np.ndarray, calibration: tuple[int, ...] | np.ndarray) -> np.ndarray:
    """``(F2F * CAL) >> 11`` per cell (MuxFixCalib.Calibrate)."""
    cal = np.asarray(calibration, dtype=np.int64)
    return (np.asarray(f2f, dtype=np.int64) * cal[None, :]) >> 11


def words_to_calq(words: np.ndarray, config: EcontInputConfig | None = None) -> np.ndarray:
    """Full input chain: split → mux → float-to-fixed → calibration; int64 (N, 48)."""
    cfg = config or EcontInputConfig()
    return apply_calibration(float_to_fixed(apply_mux(decode_words(words, cfg.cell_order_in_word), cfg.mux),
                                            cfg.high_density), cfg.calibration)


_HEX_RE = re.compile(r"^(0[xX])?[0-9a-fA-F]{1,8}$")
_DEC_RE = re.compile(r"^[0-9]+$")


def _detect_format(header: list[str], rows: list[tuple[int, list[str]]]) -> str:
    if any(h.upper().startswith("RX_DATA") for h in header):
        return "hex"
    sample = [c for _, cells in rows[:200] for c in cells if c]
    if any(re.search(r"[a-fA-FxX]", c) for c in sample):
        return "hex"
    return "decimal"


def read_eportrx_csv(path: str | Path, config: EcontInputConfig | None = None,
                     fmt: Literal["auto", "hex", "decimal"] = "auto", skip_bad_rows: bool = False,
                     report: SkipReport | None = None) -> Dataset:
    """Read ePortRX words (12 per crossing, one crossing per line, header line first).

    Hex (``testInput.csv``: ``RX_DATA_0..11``) or decimal (``ePortRX_example_10kBX.csv``:
    ``ePortRxDataGroup_0..11``), auto-detected unless ``fmt`` is given. A file whose first line
    is already 12 words (no header) is read from line 1. Problems (truncated
    crossing, non-numeric or out-of-range word, impossible header) raise DataError naming
    file, line and column, or with ``skip_bad_rows`` are dropped and counted in ``report``.
    """
    path = Path(path)
    cfg = config or EcontInputConfig()
    header, rows = read_lines(path, "ePortRX")
    if len(header) == N_WORDS and all(_HEX_RE.match(c) for c in header) and \
            not any(h.upper().startswith(("RX_DATA", "EPORTRX")) for h in header):
        # no header line: line 1 is the first crossing (kept, not lost); columns named by position
        rows = [(1, header)] + rows
        header = [f"word_{i}" for i in range(N_WORDS)]
    if len(header) != N_WORDS:
        raise DataError(f"{path}: line 1 (header) has {len(header)} columns; an ePortRX file has 12 word columns "
                        "(RX_DATA_0..11 or ePortRxDataGroup_0..11). Fix the header.")
    kind = _detect_format(header, rows) if fmt == "auto" else fmt
    if kind not in ("hex", "decimal"):
        raise DataError(f"read_eportrx_csv: fmt must be 'auto', 'hex' or 'decimal', got {fmt!r}.")
    rep = report if report is not None else SkipReport()
    rep.rows_read = len(rows)
    words, lines = [], []
    for lineno, cells in rows:
        if len(cells) != N_WORDS:
            fail_or_skip(rep, skip_bad_rows, "truncated/long crossings",
                         f"{path}: line {lineno}: {len(cells)} words, a crossing has {N_WORDS} "
                         f"(truncated or merged line). Restore the missing words.")
            continue
        row, bad = [], None
        for col, c in enumerate(cells):
            ok = bool(_HEX_RE.match(c)) if kind == "hex" else bool(_DEC_RE.match(c))
            if not ok:
                bad = ("non-numeric words", f"{path}: line {lineno}, column {col + 1} ({header[col]}): {c!r} is not a "
                       f"{'hex word of up to 8 digits' if kind == 'hex' else 'decimal integer'}. "
                       f"Fix the cell (file read as {kind}; pass fmt explicitly if that is wrong).")
                break
            v = int(c, 16) if kind == "hex" else int(c)
            if v > 0xFFFFFFFF:
                bad = ("impossible words", f"{path}: line {lineno}, column {col + 1} ({header[col]}): {c} does not fit "
                       "in a 32-bit ePortRX word. Fix the cell.")
                break
            row.append(v)
        if bad is None:
            hdrs = {(v >> 28) & 0xF for v in row}
            if not hdrs <= ALLOWED_HEADERS:
                col = next(i for i, v in enumerate(row) if ((v >> 28) & 0xF) not in ALLOWED_HEADERS)
                bad = ("impossible headers", f"{path}: line {lineno}, column {col + 1} ({header[col]}): header bits "
                       f"31..28 = {(row[col] >> 28) & 0xF:#x}, not a valid ePortRX header "
                       f"({', '.join(hex(h) for h in sorted(ALLOWED_HEADERS))}). The word is corrupt or shifted.")
            elif len(hdrs) > 1:
                bad = ("mixed headers", f"{path}: line {lineno}: the 12 words carry different headers "
                       f"{sorted(hex(h) for h in hdrs)}; all words of one crossing share a header. "
                       "Check for words from different crossings on one line.")
        if bad is not None:
            fail_or_skip(rep, skip_bad_rows, bad[0], bad[1])
            continue
        words.append(row)
        lines.append(lineno)
    finish(rep, path, len(words))
    w = np.asarray(words, dtype=np.int64)
    calq = words_to_calq(w, cfg)
    first_data_line = rows[0][0] if rows else 2
    meta = {"bx": np.asarray(lines, dtype=np.int64) - first_data_line, "header": word_headers(w[:, 0]),
            "region": np.full(len(w), "all")}
    src = f"eportrx:{path.name}({kind}, {'HDM' if cfg.high_density else 'LDM'})"
    return Dataset(calq.astype(np.float64), meta, src)
