"""ECON-T formatter for the autoencoder algorithm: (BX, module sum, latents) → eTx words.

Specification (cmantill/ECONT_Emulator, read as a spec, not copied):

* ``Autoencoder.Autoencoder``: the algorithm block's output is one 153-bit string per
  crossing, ``OUT_15 … OUT_0`` (9 bits each, MSB first) followed by the 9-bit encoded
  module sum.
* ``Formatter.format_AutoencoderOutput``: the 144 latent bits are filtered by the
  formatter mask (``KAEB_BYTE17 … KAEB_BYTE0`` = ``mask_ae`` bytes 15..0 then ``mask_ae2``
  bytes 1..0, i.e. the 144-bit mask ``(mask_ae << 16) | mask_ae2`` aligned MSB → OUT_15);
  of the kept bits only the LAST ``18 + 32·(n_etx − 1)`` are sent (left-padded with zeros
  when fewer are kept). Frame = ``BX_CNT (5) | module sum (9) | data``: exactly
  ``32·n_etx`` bits.
* ``BufferBlock.Buffer``: the frame is cut into 16-bit words; eTx link ``k`` carries 32
  frame bits ``[32k, 32k+32)``. The vectors in ``../shared/econt-vectors`` were written
  by the emulator version that puts the FIRST 16-bit word in the upper half (the later
  version swaps the halves; ``testOutput.csv`` has the BX counter in bits 31..27 of TX_DATA_0,
  which only the unswapped order gives). Links ``n_etx … 12`` carry 0. With 2·n_etx words per
  crossing the buffer never fills, so there is no truncation path for this algorithm.
* ``LoadData_ePortRX.loadEportRXData``: ``BX_CNT = BX % 16``, and 31 on the crossing where the
  BX counter is reset (header 0x9 on input word 0, crossing 0 of ``testInput.csv``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from econt.errors import DataError

N_LATENT = 16
LATENT_BITS = 9
MODSUM_BITS = 9
BX_BITS = 5
MAX_ETX = 13
LATENT_FIELD_BITS = N_LATENT * LATENT_BITS  # 144
FULL_MASK = (1 << LATENT_FIELD_BITS) - 1


def combine_mask(mask_ae: int, mask_ae2: int) -> int:
    """The 144-bit keep mask: ``mask_ae`` (128 bits) above ``mask_ae2`` (16 bits)."""
    if not 0 <= mask_ae < (1 << 128) or not 0 <= mask_ae2 < (1 << 16):
        raise DataError(f"mask_ae must be a 128-bit and mask_ae2 a 16-bit unsigned value, got {mask_ae:#x}, {mask_ae2:#x}.")
    return (mask_ae << 16) | mask_ae2


def data_bits_for(n_etx: int) -> int:
    """Latent bits that fit the frame after the 14-bit header: ``18 + 32·(n_etx − 1)``."""
    if not 1 <= n_etx <= MAX_ETX:
        raise DataError(f"n_etx must be 1..{MAX_ETX}, got {n_etx}.")
    return 18 + 32 * (n_etx - 1)


def bx_counter(n: int, reset_rows: np.ndarray | None = None) -> np.ndarray:
    """5-bit BX_CNT per crossing: ``BX % 16`` with 31 where the counter resets (BX == 0).

    ``reset_rows``: rows whose input carried the reset header (0x9); BX restarts at 0 there.
    Without it, row 0 is BX 0.
    """
    bx = np.arange(n, dtype=np.int64)
    if reset_rows is not None:
        for r in sorted(int(x) for x in np.asarray(reset_rows).ravel()):
            bx[r:] = np.arange(n - r, dtype=np.int64) % 3564
    bx = bx % 3564
    out = bx % 16
    out[bx == 0] = 31
    return out


def _latent_field(latents: np.ndarray) -> list[int]:
    lat = np.asarray(latents, dtype=np.int64)
    if lat.ndim != 2 or lat.shape[1] != N_LATENT:
        raise DataError(f"latents must be (N, {N_LATENT}), got {lat.shape}.")
    if lat.size and (lat.min() < 0 or lat.max() >= 1 << LATENT_BITS):
        raise DataError("latents must be unsigned 9-bit codes (0..511).")
    out = []
    for row in lat.tolist():
        v = 0
        for k in range(N_LATENT - 1, -1, -1):   # OUT_15 is the most significant
            v = (v << LATENT_BITS) | row[k]
        out.append(v)
    return out


def _select(field: int, mask: int) -> tuple[int, int]:
    """Keep the bits of ``field`` where ``mask`` is 1, order preserved; returns (value, count)."""
    v, n = 0, 0
    for pos in range(LATENT_FIELD_BITS - 1, -1, -1):
        if (mask >> pos) & 1:
            v = (v << 1) | ((field >> pos) & 1)
            n += 1
    return v, n


def format_frames(bx_cnt: np.ndarray, modsum: np.ndarray, latents: np.ndarray, mask: int = FULL_MASK,
                  n_etx: int = 5) -> np.ndarray:
    """``(N, 13)`` uint32 eTx words for the autoencoder algorithm (see module docstring)."""
    bx = np.asarray(bx_cnt, dtype=np.int64).ravel()
    ms = np.asarray(modsum, dtype=np.int64).ravel()
    if not (len(bx) == len(ms) == len(latents)):
        raise DataError(f"bx_cnt, modsum and latents must have the same length, got {len(bx)}, {len(ms)}, {len(latents)}.")
    if bx.size and (bx.min() < 0 or bx.max() >= 1 << BX_BITS):
        raise DataError("bx_cnt must be 5-bit.")
    if ms.size and (ms.min() < 0 or ms.max() >= 1 << MODSUM_BITS):
        raise DataError("modsum must be a 9-bit code.")
    if not 0 <= mask <= FULL_MASK:
        raise DataError("mask must be a 144-bit unsigned value.")
    nbits = data_bits_for(n_etx)
    words = np.zeros((len(bx), MAX_ETX), dtype=np.uint32)
    for i, field in enumerate(_latent_field(latents)):
        kept, _ = _select(field, mask)
        data = kept & ((1 << nbits) - 1)        # the last nbits kept bits (zero-padded on the left)
        frame = (((int(bx[i]) << MODSUM_BITS) | int(ms[i])) << nbits) | data
        total = 32 * n_etx
        for k in range(n_etx):
            words[i, k] = (frame >> (total - 32 * (k + 1))) & 0xFFFFFFFF
    return words


@dataclass
class DecodedFrames:
    """Fields read back out of eTx words (inverse of :func:`format_frames` where bits are sent)."""

    bx_cnt: np.ndarray          # (N,)
    modsum: np.ndarray          # (N,)
    data: list[int]             # the transmitted data bits per crossing (nbits wide)
    nbits: int
    pad_ok: np.ndarray          # (N,) bool: unused eTx words are zero
    latents: np.ndarray         # (N, 16) latent codes; -1 where a latent is not (fully) transmitted
    latent_known_bits: np.ndarray  # (N, 16) int: mask of the latent's bits that are on the links
    latent_partial: np.ndarray  # (N, 16) the transmitted bits of each latent, untransmitted bits 0


def transmitted_latent_bits(mask: int, n_etx: int) -> list[tuple[int, int]]:
    """For each data bit position (MSB first) the (latent index, bit index) it carries, or (-1,-1) for padding."""
    nbits = data_bits_for(n_etx)
    kept = [pos for pos in range(LATENT_FIELD_BITS - 1, -1, -1) if (mask >> pos) & 1]
    sent = kept[-nbits:] if len(kept) >= nbits else kept
    pad = nbits - len(sent)
    return [(-1, -1)] * pad + [(pos // LATENT_BITS, pos % LATENT_BITS) for pos in sent]


def decode_frames(words: np.ndarray, mask: int = FULL_MASK, n_etx: int = 5) -> DecodedFrames:
    """Read BX counter, module sum and the latent bits back out of ``(N, 13)`` eTx words."""
    w = np.asarray(words, dtype=np.int64)
    if w.ndim != 2 or w.shape[1] != MAX_ETX:
        raise DataError(f"eTx words must be (N, {MAX_ETX}), got {w.shape}.")
    nbits = data_bits_for(n_etx)
    carry = transmitted_latent_bits(mask, n_etx)
    n = len(w)
    bx = np.zeros(n, np.int64)
    ms = np.zeros(n, np.int64)
    data: list[int] = []
    lat = np.zeros((n, N_LATENT), np.int64)
    known = np.zeros((n, N_LATENT), np.int64)
    for li, (lat_i, bit_i) in enumerate(carry):
        if lat_i >= 0:
            known[:, lat_i] |= 1 << bit_i
    for i in range(n):
        frame = 0
        for k in range(n_etx):
            frame = (frame << 32) | int(w[i, k])
        bx[i] = frame >> (32 * n_etx - BX_BITS)
        ms[i] = (frame >> nbits) & ((1 << MODSUM_BITS) - 1)
        d = frame & ((1 << nbits) - 1)
        data.append(d)
        for li, (lat_i, bit_i) in enumerate(carry):
            if lat_i >= 0 and (d >> (nbits - 1 - li)) & 1:
                lat[i, lat_i] |= 1 << bit_i
    full = (1 << LATENT_BITS) - 1
    partial = lat.copy()
    lat = np.where(known == full, lat, -1)
    pad_ok = (w[:, n_etx:] == 0).all(axis=1)
    return DecodedFrames(bx, ms, data, nbits, pad_ok, lat, known, partial)
