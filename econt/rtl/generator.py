"""Verilog-2005 generator for the ECON-T encoder datapath.

One folder per design: one ``.v`` file per module (compile order in
``manifest.json``), ``manifest.json`` (parameters, ports, latency, config bits,
hashes) and ``resolved_config.yaml``. Output is a pure function of the inputs
(no timestamps, sorted JSON), so the same config gives byte-identical files.

Datapath (one inference per clock): module sum and MSB → shift normalisation to
``in_bits`` codes → 8 ``econt_conv_filter`` instances (3x3 stride 2, TF 'same'
padding, ReLU quantiser) → 16 ``econt_dense_neuron`` instances (ReLU quantiser to
the latent width) → ``latent`` + 9-bit ``modsum_code``. Identical structures are
separate modules so synthesis can work hierarchically.

TMR: ``config`` triplicates the configuration register file, votes bit-wise and
writes the voted value back every cycle (a single upset is gone after one edge);
``full`` also triplicates every datapath pipeline register. ``selective`` triplicates only the
bits of a protection mask (``protection_mask``, written by ``econt faults rank``): copy ``q_a`` of
every byte holds all 8 bits, protected bits add ``g_bit[k].tmr.r_b|r_c``, voted and repaired as
with ``config``; an unprotected bit is a single register.

Configuration storage (``cfg_storage``): ``refresh`` clocks every configuration flop every
cycle (as above). ``gated`` clocks each group of registers (``cfg_gate_group``: byte, 4-byte
word or I2C block) through ``econt_clock_gate`` (latch + AND model for simulation; synthesis
maps the module, by this name and port list, to the PDK's ICG cell) only during reset, on a
write into the group, or with TMR when the group's three copies disagree in any bit: the next
edge loads the voted value into every copy (repair). With TMR each copy has its own gate, so
an upset in one gate's latch disturbs one copy only. Same register map and I2C image. Each copy is its own
``(* keep *)`` always block: yosys keeps the kept processes as separate flops
where it would otherwise merge identical ones (checked after synthesis in the tests).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from econt.config import config_hash, to_plain, write_resolved_config
from econt.errors import ConfigError
from econt.rtl.arch import ArchSpec
from econt.rtl.config import RtlConfig
from econt.rtl.layout import ConfigLayout

GENERATOR_VERSION = "3"
TOP = "econt_encoder"
ROUND_CODE = {"floor": 0, "half_up": 1, "half_even": 2}


@dataclass
class GeneratedDesign:
    """A generated design folder."""

    path: Path
    top: str
    files: list[Path]
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_cycles(self) -> int:
        return int(self.manifest["latency_cycles"])

    def layout(self) -> Optional[ConfigLayout]:
        """The register map the design was generated with (None for hardwired designs)."""
        f = self.path / "register_map.json"
        if not f.is_file():
            return None
        d = json.loads(f.read_text())
        pb: list[int] = []
        for img0, p0, n in d["runs"]:
            if img0 != len(pb):
                raise ConfigError(f"{f}: runs are not contiguous; regenerate the design.")
            pb.extend(range(p0, p0 + n))
        return ConfigLayout(tuple(pb), d["blocks"], d["block_bits"])

    @staticmethod
    def load(path: str | Path) -> "GeneratedDesign":
        path = Path(path)
        mf = path / "manifest.json"
        if not mf.is_file():
            raise ConfigError(f"{mf}: no manifest; generate the design with `econt rtl generate` first.")
        manifest = json.loads(mf.read_text())
        return GeneratedDesign(path, manifest["top"], [path / f for f in manifest["files"]], manifest)


# ----------------------------------------------------------------------------------------
# helpers


# Products per dense-layer slice module: identical slices are synthesised once (hierarchy kept)
DENSE_SLICE = 16


def _bits_signed(lo: int, hi: int) -> int:
    """Two's complement width holding every integer in [lo, hi]."""
    n = 1
    while not (-(1 << (n - 1)) <= lo and hi <= (1 << (n - 1)) - 1):
        n += 1
    return n


def _sv(bits: int, value: int) -> str:
    """A sized Verilog literal of a (possibly negative) value in ``bits`` two's complement."""
    return f"{bits}'d{value & ((1 << bits) - 1)}"


def _requant_lines(acc: str, acc_bits: int, shift: int, out_bits: int, rounding: str, out: str, tag: str) -> list[str]:
    """ReLU + rounding right shift by ``shift`` + saturation to ``out_bits`` unsigned.

    Rounding as QKeras (half to even by default) so the hardware is bit-exact with the
    trained quantisers; negative values clamp to 0 (ReLU), overflow to all ones.
    """
    lines = []
    a = acc_bits
    if shift > 0:
        lines.append(f"  wire signed [{a - 1}:0] fl_{tag} = {acc} >>> {shift};")
        if rounding == "floor":
            rnd = "1'b0"
        elif rounding == "half_up":
            rnd = f"{acc}[{shift - 1}]"
        else:
            sticky = f" | (|{acc}[{shift - 2}:0])" if shift >= 2 else ""
            rnd = f"{acc}[{shift - 1}] & (fl_{tag}[0]{sticky})"
        lines.append(f"  wire rnd_{tag} = {rnd};")
        # one extra bit so rounding up never wraps
        lines.append(f"  wire signed [{a}:0] r_{tag} = {{fl_{tag}[{a - 1}], fl_{tag}}} + {{{a}'d0, rnd_{tag}}};")
        rb = a + 1
    else:
        lines.append(f"  wire signed [{a - 1 - shift}:0] r_{tag} = {{{acc}, {-shift}'d0}};" if shift < 0
                     else f"  wire signed [{a - 1}:0] r_{tag} = {acc};")
        rb = a - shift
    over = f"(|r_{tag}[{rb - 2}:{out_bits}])" if rb - 2 >= out_bits else "1'b0"
    lines.append(f"  assign {out} = r_{tag}[{rb - 1}] ? {out_bits}'d0 : ({over} ? {{{out_bits}{{1'b1}}}} : r_{tag}[{out_bits - 1}:0]);")
    return lines


# The clock gate for RTL simulation (econt.asic.clock_gating writes the synthesis version: the
# PDK's ICG cell behind the same name and ports).
CLOCK_GATE_MODEL = """module econt_clock_gate (
  input  wire clk,
  input  wire en,
  output wire gclk
);
  // Enable latch, transparent while clk is low, so gclk only sees en as it was before the
  // rising edge: no glitch, one full pulse per enabled cycle.
  reg en_latch;
  /* verilator lint_off LATCH */  // waiver: the enable latch of the clock gate is intended
  always @(clk or en)
    if (!clk) en_latch = en;
  /* verilator lint_on LATCH */
  assign gclk = clk & en_latch;
endmodule
"""


class _Gen:
    def __init__(self, cfg: RtlConfig, spec: ArchSpec, layout: ConfigLayout, params: Optional[np.ndarray]):
        self.cfg, self.s, self.layout = cfg, spec, layout
        self.params = params
        self.hw = cfg.weights == "hardwired"
        self.tmr_cfg = cfg.tmr in ("config", "full", "selective") and not self.hw
        #: tmr=selective: per image bit, True = TMR group (set by generate_design from the mask file)
        self.protected: Optional[np.ndarray] = None
        self.tmr_pipe = cfg.tmr == "full"
        s = spec
        wmax, wmin = (1 << (s.weight_bits - 1)) - 1, -(1 << (s.weight_bits - 1))
        xmax = (1 << s.in_bits) - 1
        amax = (1 << s.act_bits) - 1
        k2 = s.kernel * s.kernel
        sh = s.shifts
        self.conv_pshift, self.dense_pshift = sh["conv_product_shift"], sh["dense_product_shift"]
        self.conv_bias_shift, self.dense_bias_shift = sh["conv_bias_shift"], sh["dense_bias_shift"]
        self.conv_shift, self.dense_shift = sh["conv_shift"], sh["dense_shift"]
        # products: unsigned input (+1 sign bit) x signed weight, exact
        self.conv_pw = s.in_bits + 1 + s.weight_bits
        self.dense_pw = s.act_bits + 1 + s.weight_bits
        cb_lo, cb_hi = wmin << self.conv_bias_shift, wmax << self.conv_bias_shift
        db_lo, db_hi = wmin << self.dense_bias_shift, wmax << self.dense_bias_shift
        # accumulator bounds exactly as the golden model (floor-shifted products when chip)
        self.conv_acc = max(_bits_signed(k2 * ((xmax * wmin) >> self.conv_pshift) + cb_lo,
                                         k2 * ((xmax * wmax) >> self.conv_pshift) + cb_hi), s.act_bits + 2)
        n = s.dense_inputs
        self.dense_acc = max(_bits_signed(n * ((amax * wmin) >> self.dense_pshift) + db_lo,
                                          n * ((amax * wmax) >> self.dense_pshift) + db_hi), s.latent_bits + 2)
        self.files: dict[str, str] = {}

    # -------------------------------------------------------------------- parameter indices
    def conv_w_index(self, di: int, dj: int, f: int) -> int:
        return (di * self.s.kernel + dj) * self.s.conv_filters + f

    def conv_b_index(self, f: int) -> int:
        return self.s.kernel ** 2 * self.s.conv_filters + f

    def dense_w_index(self, k: int, l_: int) -> int:
        return self.conv_b_index(self.s.conv_filters) + k * self.s.latent + l_

    def dense_b_index(self, l_: int) -> int:
        return self.dense_w_index(self.s.dense_inputs, 0) + l_

    @staticmethod
    def _term(prod: str, pw: int, acc_bits: int) -> str:
        """A (shifted) product of ``pw`` bits fitted to the accumulator width.

        The accumulator width bounds every partial sum, so a narrower accumulator only drops
        copies of the sign bit; two's complement sums are exact modulo 2**acc_bits.
        """
        if acc_bits > pw:
            return f"{{{{{acc_bits - pw}{{{prod}[{pw - 1}]}}}}, {prod}}}"
        if acc_bits == pw:
            return prod
        return f"{prod}[{acc_bits - 1}:0]"

    def _mac(self, x: str, w: str, pw: int, pshift: int, acc: str, acc_bits: int, indent: str) -> list[str]:
        out = [f"{indent}prod = $signed({{1'b0, {x}}}) * {w};"]
        if pshift:
            # chip arithmetic: truncate (floor) every product before the sum
            out.append(f"{indent}prodq = prod[{pw - 1}:{pshift}];")
            out.append(f"{indent}{acc} = {acc} + {self._term('prodq', pw - pshift, acc_bits)};")
        else:
            out.append(f"{indent}{acc} = {acc} + {self._term('prod', pw, acc_bits)};")
        return out

    @staticmethod
    def _prod_decls(pw: int, pshift: int) -> list[str]:
        """The product register (and, for chip arithmetic, its truncated copy) of a MAC block."""
        if not pshift:
            return [f"  reg signed [{pw - 1}:0] prod;"]
        return ["  /* verilator lint_off UNUSEDSIGNAL */  // waiver: chip arithmetic drops the product's low bits by design",
                f"  reg signed [{pw - 1}:0] prod;",
                "  /* verilator lint_on UNUSEDSIGNAL */",
                f"  reg signed [{pw - pshift - 1}:0] prodq;  // floor(prod / 2**{pshift})"]

    def _bias_term(self, acc_bits: int, shift: int) -> str:
        """Bias aligned to the product precision and sign-extended to the accumulator."""
        wb = self.s.weight_bits
        ext = acc_bits - wb - shift
        low = f", {shift}'d0" if shift else ""
        return f"$signed({{{{{ext}{{bias[{wb - 1}]}}}}, bias{low}}})"

    # -------------------------------------------------------------------- modules
    def header(self, what: str) -> str:
        return (f"// {what}\n// Generated by econt.rtl (generator v{GENERATOR_VERSION}) for design '{self.cfg.name}'. "
                "Do not edit: regenerate with `econt rtl generate`.\n`timescale 1ns / 1ps\n`default_nettype none\n")

    def footer(self) -> str:
        return "`default_nettype wire\n"

    def emit_vote(self) -> None:
        self.files["econt_vote"] = self.header("Bit-wise 2-of-3 majority voter (TMR).") + """
module econt_vote #(
  parameter W = 1
) (
  input  wire [W-1:0] a,
  input  wire [W-1:0] b,
  input  wire [W-1:0] c,
  output wire [W-1:0] y
);
  assign y = (a & b) | (a & c) | (b & c);
endmodule
""" + self.footer()

    def emit_pipe_reg(self) -> None:
        if self.tmr_pipe:
            body = """
module econt_pipe_reg #(
  parameter W = 1,
  parameter RESET = 0
) (
  input  wire         clk,
  input  wire         rst_n,
  input  wire [W-1:0] d,
  output wire [W-1:0] q
);
  // Three copies, each its own kept process so synthesis cannot merge them; the
  // voter masks an upset in any one copy, and the next edge overwrites it.
  reg [W-1:0] r_a;
  reg [W-1:0] r_b;
  reg [W-1:0] r_c;
  (* keep *) always @(posedge clk) r_a <= (RESET != 0 && !rst_n) ? {W{1'b0}} : d;
  (* keep *) always @(posedge clk) r_b <= (RESET != 0 && !rst_n) ? {W{1'b0}} : d;
  (* keep *) always @(posedge clk) r_c <= (RESET != 0 && !rst_n) ? {W{1'b0}} : d;
  econt_vote #(.W(W)) u_vote (.a(r_a), .b(r_b), .c(r_c), .y(q));
endmodule
"""
            what = "Triplicated pipeline register with majority vote (tmr=full)."
        else:
            body = """
module econt_pipe_reg #(
  parameter W = 1,
  parameter RESET = 0
) (
  input  wire         clk,
  input  wire         rst_n,
  input  wire [W-1:0] d,
  output wire [W-1:0] q
);
  reg [W-1:0] r;
  always @(posedge clk) r <= (RESET != 0 && !rst_n) ? {W{1'b0}} : d;
  assign q = r;
endmodule
"""
            what = "Pipeline register (no TMR)."
        self.files["econt_pipe_reg"] = self.header(what) + body + self.footer()

    def emit_clock_gate(self) -> None:
        """Behavioural integrated clock gate (latch + AND). Synthesis maps ``econt_clock_gate``
        (this exact name and port list) to the PDK's ICG cell; RTL simulation runs this model."""
        self.files["econt_clock_gate"] = self.header(
            "Integrated clock gate: behavioural model for RTL simulation (synthesis maps it to the PDK ICG cell).") \
            + CLOCK_GATE_MODEL + self.footer()

    def cfg_groups(self) -> list[tuple[int, int]]:
        """(first byte address, byte count) of each clock-gated group, in address order."""
        from econt.rtl.config import CFG_GATE_GROUP_BYTES

        bpb = self.layout.bytes_per_block
        gb = CFG_GATE_GROUP_BYTES[self.cfg.cfg_gate_group] or bpb
        return [(blk * bpb + lo, min(gb, bpb - lo)) for blk in range(self.layout.blocks) for lo in range(0, bpb, gb)]

    def emit_cfg_regs(self) -> None:
        lay = self.layout
        bpb = lay.bytes_per_block
        nbytes = lay.blocks * bpb
        nbits = nbytes * 8
        # registers only for the bytes that carry configuration bits (a model smaller than the
        # ECON-T's fills only the first bytes of the map); the others read 0 and ignore writes
        nstored = lay.stored_bytes
        bw = max(1, (lay.blocks - 1).bit_length())
        yw = max(1, (bpb - 1).bit_length())
        aw = max((nbytes - 1).bit_length(), bw + 1, yw + 1)
        self.cfg_ports = (bw, yw)
        gated = self.cfg.cfg_storage == "gated"
        # a field whose range fills its width (power-of-two blocks or bytes per block) is always in
        # the map: its bound would not fit the literal ({yw}'d{2**yw} is 0, so every write was ignored)
        addr_ok = " && ".join([f"(cfg_block < {bw}'d{lay.blocks})"] * (lay.blocks < 1 << bw)
                              + [f"(cfg_byte < {yw}'d{bpb})"] * (bpb < 1 << yw)) or "1'b1"
        head = f"""
module econt_cfg_regs (
  input  wire            clk,
  input  wire            rst_n,
  input  wire            cfg_we,
  input  wire [{bw - 1}:0]      cfg_block,
  input  wire [{yw - 1}:0]      cfg_byte,
  input  wire [7:0]      cfg_wdata,
  output wire [{nbits - 1}:0] image
);
  // Register address map = the ECON-T I2C image: {lay.blocks} blocks x {bpb} bytes,
  // byte (block, byte) holds image bits [8*(block*{bpb}+byte) +: 8]. Writes outside the
  // map are ignored. Bytes {nstored} and up carry no configuration bit: no register, read as 0.
  wire addr_ok = {addr_ok};
  wire wr = cfg_we && addr_ok;
"""
        all_groups = self.cfg_groups() if gated else []
        groups = [g for g in all_groups if g[0] < nstored]   # groups holding stored bytes get a gate
        # a byte needs its own write select unless its clock gate is its select (byte groups, no TMR)
        byte_sel = not (gated and not self.tmr_cfg and groups[0][1] == 1)
        if byte_sel:
            head += f"  wire [{aw - 1}:0] waddr = {{{aw - bw}'d0, cfg_block}} * {aw}'d{bpb} + {{{aw - yw}'d0, cfg_byte}};\n"
        copies = ("_a", "_b", "_c") if self.tmr_cfg else ("",)
        if gated:
            ng = len(groups)
            gb = groups[0][1]
            gpb = -(-bpb // gb)
            head += f"""  // Clock gating: {ng} groups of {gb} byte(s) (cfg_gate_group: {self.cfg.cfg_gate_group}); a group's
  // registers are clocked only when its gate opens: during reset, on a write into the group"""
            head += (", or when its\n  // three copies disagree (the next edge loads the voted value into every copy).\n"
                     if self.tmr_cfg else ".\n")
            # group index of the written byte (only used with wr, i.e. for in-range addresses)
            # wide enough for every group of the map, so a write to an unstored group aliases none
            gw = max(1, (len(all_groups) - 1).bit_length(), bw, yw)

            def widen(sig: str, w: int) -> str:
                return sig if w == gw else f"{{{gw - w}'d0, {sig}}}"
            gsum = widen("cfg_block", bw) + (f" * {gw}'d{gpb}" if gpb > 1 else "")
            if gpb > 1:
                gsum += " + " + widen("cfg_byte", yw) + (f" / {gw}'d{gb}" if gb > 1 else "")
            head += f"  wire [{gw - 1}:0] gaddr = {gsum};  // clock-gate group of the written byte\n"
            if self.tmr_cfg:
                head += f"  wire [{nstored - 1}:0] differ;  // byte k: its three copies disagree in some bit\n"
            head += f"""  genvar j;
  generate
    for (j = 0; j < {ng}; j = j + 1) begin : g_group
      wire hit = wr && (gaddr == j[{gw - 1}:0]);
"""
            if self.tmr_cfg:
                head += f"""      // group j: bytes [LO, LO + N) of block j / {gpb}
      localparam integer LO = (j / {gpb}) * {bpb} + (j % {gpb}) * {gb};
      localparam integer N = ({bpb} - (j % {gpb}) * {gb} < {gb}) ? {bpb} - (j % {gpb}) * {gb} : {gb};
      localparam integer NS = (LO + N > {nstored}) ? {nstored} - LO : N;  // its stored bytes
      wire en = !rst_n || hit || (|differ[LO + NS - 1:LO]);
      // one gate per copy: an upset in one gate's latch disturbs one copy only
      wire gclk_a;
      wire gclk_b;
      wire gclk_c;
      (* keep *) econt_clock_gate u_cg_a (.clk(clk), .en(en), .gclk(gclk_a));
"""
                if self.protected is None:
                    head += """      (* keep *) econt_clock_gate u_cg_b (.clk(clk), .en(en), .gclk(gclk_b));
      (* keep *) econt_clock_gate u_cg_c (.clk(clk), .en(en), .gclk(gclk_c));
"""
                else:
                    head += """      // tmr=selective: copies b and c (and their gates) only in groups holding protected bits
      if (GPROT[j]) begin : g_tmr
        (* keep *) econt_clock_gate u_cg_b (.clk(clk), .en(en), .gclk(gclk_b));
        (* keep *) econt_clock_gate u_cg_c (.clk(clk), .en(en), .gclk(gclk_c));
      end else begin : g_single
        assign gclk_b = 1'b0;
        assign gclk_c = 1'b0;
      end
"""
            else:
                head += """      wire en = !rst_n || hit;
      wire gclk;
      econt_clock_gate u_cg (.clk(clk), .en(en), .gclk(gclk));
"""
            head += "    end\n  endgenerate\n"
        head += f"""  // One register, address comparator and load enable per byte: a variable part-select
  // write would synthesise to a {nbits}-bit shifter, and byte-sized registers keep event-driven
  // simulation of a write local to the weights it changes.
  genvar g;
  generate
    for (g = 0; g < {nstored}; g = g + 1) begin : g_byte
"""
        if byte_sel:
            head += f"      localparam integer ADDR = g;\n      wire sel = wr && (waddr == ADDR[{aw - 1}:0]);\n"
        if gated:
            head += f"      localparam integer GRP = (g / {bpb}) * {gpb} + (g % {bpb}) / {gb};  // its clock gate\n"
            # scalar per-group clock nets (a multi-driver clock vector makes event-driven
            # simulators wake every byte on every gate's edge)
            for c in copies:
                head += f"      wire bclk{c} = g_group[GRP].gclk{c};\n"
        sig = "voted" if self.tmr_cfg else "q"
        image_concat = "{" + ", ".join(f"g_byte[{g}].{sig}" if g < nstored else "8'd0"
                                       for g in reversed(range(nbytes))) + "}"
        tail = f"""    end
  endgenerate
  // One concatenation (not 1,608 part-assigns to one net): event-driven simulators then
  // update the image in one step per write.
  assign image = {image_concat};
endmodule
"""
        if self.protected is not None:
            head = head.replace("  wire wr = cfg_we && addr_ok;\n",
                                "  wire wr = cfg_we && addr_ok;\n" + self._selective_decls(groups), 1)
            head = head.replace("  genvar g;\n", "  genvar g;\n  genvar k;\n", 1)
            body = self._selective_body(gated)
            what = ("Configuration register file, selective TMR: protected bits triplicated with voting and "
                    + ("clock-gated self-repair" if gated else "continuous refresh") + ", the rest single registers (tmr=selective).")
        elif self.tmr_cfg and not gated:
            body = """      // tmr=config: three copies of every byte; each copy loads the voted value every cycle
      // (continuous refresh), so a single upset in one copy is outvoted at once and repaired
      // at the next edge. Each copy is its own kept process so synthesis cannot merge them.
      reg [7:0] q_a;
      reg [7:0] q_b;
      reg [7:0] q_c;
      wire [7:0] voted = (q_a & q_b) | (q_a & q_c) | (q_b & q_c);
      wire [7:0] nxt = sel ? cfg_wdata : voted;
      (* keep *) always @(posedge clk) q_a <= rst_n ? nxt : 8'd0;
      (* keep *) always @(posedge clk) q_b <= rst_n ? nxt : 8'd0;
      (* keep *) always @(posedge clk) q_c <= rst_n ? nxt : 8'd0;
"""
            what = "Configuration register file, triplicated with voting and continuous refresh (tmr=config)."
        elif self.tmr_cfg:
            body = """      // Three copies of every byte on their own gated clocks; the voter masks an upset in one
      // copy at once, the disagreement opens the group's gates and the next edge repairs it.
      // Bytes of the group that agree reload their own voted value (no change). Each copy is
      // its own kept process so synthesis cannot merge them.
      reg [7:0] q_a;
      reg [7:0] q_b;
      reg [7:0] q_c;
      wire [7:0] voted = (q_a & q_b) | (q_a & q_c) | (q_b & q_c);
      wire [7:0] nxt = sel ? cfg_wdata : voted;
      assign differ[g] = |((q_a ^ q_b) | (q_a ^ q_c));
      (* keep *) always @(posedge bclk_a) q_a <= rst_n ? nxt : 8'd0;
      (* keep *) always @(posedge bclk_b) q_b <= rst_n ? nxt : 8'd0;
      (* keep *) always @(posedge bclk_c) q_c <= rst_n ? nxt : 8'd0;
"""
            what = "Configuration register file, triplicated with voting, clock-gated self-repair (tmr=config, cfg_storage=gated)."
        elif gated and groups[0][1] == 1:
            body = """      // One gate per byte: its clock only runs on a write to it (or in reset), so the
      // register needs no load enable of its own.
      reg [7:0] q;
      always @(posedge bclk) q <= rst_n ? cfg_wdata : 8'd0;
"""
            what = "Configuration register file (weights), clock-gated per byte, written through the I2C-mapped byte port."
        elif gated:
            body = """      // The group's clock runs on a write into the group; the other bytes of the group hold.
      reg [7:0] q;
      always @(posedge bclk)
        if (!rst_n) q <= 8'd0;
        else if (sel) q <= cfg_wdata;
"""
            what = "Configuration register file (weights), clock-gated per group, written through the I2C-mapped byte port."
        else:
            body = """      reg [7:0] q;
      always @(posedge clk)
        if (!rst_n) q <= 8'd0;
        else if (sel) q <= cfg_wdata;
"""
            what = "Configuration register file (weights), written through the I2C-mapped byte port."
        self.cfg_gating = {
            "cfg_storage": self.cfg.cfg_storage,
            "cfg_gate_group": self.cfg.cfg_gate_group if gated else None,
            "groups": len(groups),
            "group_bytes": groups[0][1] if gated else None,
            "clock_gates": (len(groups) * len(copies) if self.protected is None else
                            len(groups) + 2 * sum(self._group_protected(groups))),
            "clock_gate_module": "econt_clock_gate" if gated else None,
            "clock_gate_instances": (f"u_cfg.g_group[0..{len(groups) - 1}].u_cg{'_a|_b|_c' if self.tmr_cfg else ''}"
                                     if gated else None),
            "gated_clock_nets": (f"u_cfg.g_group[0..{len(groups) - 1}].gclk{'_a|_b|_c' if self.tmr_cfg else ''}"
                                 if gated else None),
            "group_of_byte": ("byte k is in group j when g_group[j].LO <= k < LO + N; groups run in address "
                              "order, contiguous within an I2C block") if gated else None,
        }
        self.files["econt_cfg_regs"] = self.header(what) + head + body + tail + self.footer()

    def _group_protected(self, groups: list[tuple[int, int]]) -> list[bool]:
        """tmr=selective, gated: does clock-gate group (first byte, bytes) hold a protected bit."""
        assert self.protected is not None
        return [bool(self.protected[8 * lo:8 * (lo + n)].any()) for lo, n in groups]

    def _selective_decls(self, groups: list[tuple[int, int]]) -> str:
        """Mask constants of tmr=selective: PMASK (bit i = image bit i is protected), GPROT (gated groups)."""
        assert self.protected is not None
        nbits = len(self.protected)

        def hexconst(bits: list[bool]) -> str:
            v = sum(1 << i for i, b in enumerate(bits) if b)
            return f"{len(bits)}'h{v:0{-(-len(bits) // 4)}x}"
        out = (f"  // tmr=selective: image bit i is a TMR group when PMASK[i] (protection mask, "
               f"{int(self.protected.sum())} of {nbits} bits), else a single register.\n"
               f"  localparam [{nbits - 1}:0] PMASK = {hexconst(self.protected.tolist())};\n")
        if groups:
            gp = self._group_protected(groups)
            out += f"  localparam [{len(gp) - 1}:0] GPROT = {hexconst(gp)};  // clock-gate group j holds protected bits\n"
        return out

    def _selective_body(self, gated: bool) -> str:
        """One byte of tmr=selective: copy a of every bit (the only copy of an unprotected bit),
        copies b and c of the protected bits; the vote of an unprotected bit is copy a itself."""
        ck = ("bclk_a", "bclk_b", "bclk_c") if gated else ("clk", "clk", "clk")
        return f"""      // tmr=selective: M = protected bits of this byte. Copy a holds every bit (an unprotected
      // bit's only register); protected bits also have copies b and c (g_bit[k].tmr.r_b|r_c), voted
      // and repaired as with tmr=config. Each copy is its own kept process.
      localparam [7:0] M = PMASK[8 * g +: 8];
      reg [7:0] q_a;
      wire [7:0] q_b;
      wire [7:0] q_c;
      wire [7:0] voted = (q_a & q_b) | (q_a & q_c) | (q_b & q_c);
      wire [7:0] nxt = sel ? cfg_wdata : voted;
""" + ("      assign differ[g] = |((q_a ^ q_b) | (q_a ^ q_c));\n" if gated else "") + f"""      (* keep *) always @(posedge {ck[0]}) q_a <= rst_n ? nxt : 8'd0;
      for (k = 0; k < 8; k = k + 1) begin : g_bit
        if (M[k]) begin : tmr
          reg r_b;
          reg r_c;
          (* keep *) always @(posedge {ck[1]}) r_b <= rst_n ? nxt[k] : 1'b0;
          (* keep *) always @(posedge {ck[2]}) r_c <= rst_n ? nxt[k] : 1'b0;
          assign q_b[k] = r_b;
          assign q_c[k] = r_c;
        end else begin : single
          assign q_b[k] = q_a[k];
          assign q_c[k] = q_a[k];
        end
      end
"""

    def emit_normalise(self) -> None:
        s = self.s
        cb, sb, ib = s.calq_bits, s.sum_bits, s.in_bits
        mw = max(1, (sb - 1).bit_length())
        e, m = s.modsum_exp_bits, s.modsum_mant_bits
        lines = [f"""
module econt_normalise (
  input  wire [{s.n_cells * cb - 1}:0] calq,
  output wire [{s.n_cells * ib - 1}:0] codes,
  output wire [{e + m - 1}:0] modsum_code
);
  // Module sum and the position of its leading one (0 for sums 0 and 1).
  reg [{sb - 1}:0] modsum;
  reg [{mw - 1}:0] msb;
  integer i;
  always @* begin
    modsum = {sb}'d0;
    for (i = 0; i < {s.n_cells}; i = i + 1)
      modsum = modsum + {{{sb - cb}'d0, calq[i*{cb} +: {cb}]}};
    msb = {mw}'d0;
    for (i = 0; i < {sb}; i = i + 1)
      if (modsum[i]) msb = i[{mw - 1}:0];
  end
  // code = CALQ >> (msb - {ib - 1}) (truncating), or << when msb < {ib - 1}: the module sum's
  // leading one lands on bit {ib - 1}. Every cell <= sum, so codes fit {ib} bits; the
  // saturation below never fires but keeps all shifter bits in use."""]
        sw = cb + ib - 1
        for i in range(s.n_cells):
            lines.append(f"  wire [{sw - 1}:0] sh_{i} = {{calq[{i * cb + cb - 1}:{i * cb}], {ib - 1}'d0}} >> msb;")
            lines.append(f"  assign codes[{i * ib + ib - 1}:{i * ib}] = (|sh_{i}[{sw - 1}:{ib}]) ? {{{ib}{{1'b1}}}} : sh_{i}[{ib - 1}:0];")
        # module-sum code: ECON-T float, exponent e = bitlen - m (0 for sums < 2**m), mantissa = the
        # m bits under the leading one (truncated); saturates to all ones.
        emax = (1 << e) - 1
        lines.append(f"""  // Module-sum code: {e}-bit exponent, {m}-bit mantissa (ECON-T float, truncating, saturating).
  wire is_small = (msb < {mw}'d{m});
  wire [{mw}:0] expo = {{1'b0, msb}} - {mw + 1}'d{m - 1};
  wire [{m - 1}:0] mant = modsum[(msb - {mw}'d{m}) +: {m}];
  wire sat = !is_small && (expo > {mw + 1}'d{emax});
  assign modsum_code = is_small ? modsum[{e + m - 1}:0]
                     : sat ? {{{e + m}{{1'b1}}}}
                     : {{expo[{e - 1}:0], mant}};
endmodule
""")
        self.files["econt_normalise"] = self.header("Input normalisation by the MSB of the module sum, and the module-sum code.") + "\n".join(lines) + self.footer()

    def emit_conv_filter(self) -> None:
        s = self.s
        k, st, img, co, ib, wb, ab = s.kernel, s.stride, s.image, s.conv_out, s.in_bits, s.weight_bits, s.act_bits
        a = self.conv_acc
        if self.hw:
            ports = f"""module econt_conv_filter #(
  parameter [{k * k * wb - 1}:0] W = {k * k * wb}'d0,
  parameter [{wb - 1}:0] B = {wb}'d0
) (
  input  wire [{img * img * ib - 1}:0] img,
  output wire [{co * co * ab - 1}:0] act
);"""
            wsrc, bsrc = "W", "B"
        else:
            ports = f"""module econt_conv_filter (
  input  wire [{img * img * ib - 1}:0] img,
  input  wire [{k * k * wb - 1}:0] w,
  input  wire [{wb - 1}:0] b,
  output wire [{co * co * ab - 1}:0] act
);"""
            wsrc, bsrc = "w", "b"
        lines = ["", ports, f"  // One filter: {k}x{k} kernel, stride {st}, TF 'same' padding (zeros at bottom/right),",
                 f"  // ReLU quantiser to {ab} bits ({s.act_rounding} rounding, saturating).",
                 f"  // Tap (di, dj) weight = w[(di*{k}+dj)*{wb} +: {wb}]."]
        for t in range(k * k):
            lines.append(f"  wire signed [{wb - 1}:0] w{t} = {wsrc}[{t * wb + wb - 1}:{t * wb}];")
        lines.append(f"  wire signed [{wb - 1}:0] bias = {bsrc};")
        pw = self.conv_pw
        lines.append("  // Accumulators in one procedural block: evaluated once per new image in simulation.")
        lines += self._prod_decls(pw, self.conv_pshift)
        for p in range(co * co):
            lines.append(f"  reg signed [{a - 1}:0] acc{p};")
        lines.append("  always @* begin")
        lines.append(f"    prod = {pw}'sd0;")
        if self.conv_pshift:
            lines.append(f"    prodq = {pw - self.conv_pshift}'sd0;")
        for p in range(co * co):
            oi, oj = divmod(p, co)
            lines.append(f"    acc{p} = {self._bias_term(a, self.conv_bias_shift)};")
            for di in range(k):
                for dj in range(k):
                    r, c = oi * st + di - s.pad_before, oj * st + dj - s.pad_before
                    if 0 <= r < img and 0 <= c < img:
                        px = r * img + c
                        lines += self._mac(f"img[{px * ib + ib - 1}:{px * ib}]", f"w{di * k + dj}", pw,
                                           self.conv_pshift, f"acc{p}", a, "    ")
        lines.append("  end")
        for p in range(co * co):
            lines += _requant_lines(f"acc{p}", a, self.conv_shift, ab, s.act_rounding,
                                    f"act[{p * ab + ab - 1}:{p * ab}]", str(p))
        lines.append("endmodule\n")
        self.files["econt_conv_filter"] = self.header("One convolution filter (8 instances in the encoder).") + "\n".join(lines) + self.footer()

    def emit_dense_neuron(self) -> None:
        s = self.s
        n, ab, wb, lb = s.dense_inputs, s.act_bits, s.weight_bits, s.latent_bits
        a = self.dense_acc
        if self.hw:
            ports = f"""module econt_dense_neuron #(
  parameter [{n * wb - 1}:0] W = {n * wb}'d0,
  parameter [{wb - 1}:0] B = {wb}'d0
) (
  input  wire [{n * ab - 1}:0] act,
  output wire [{lb - 1}:0] y
);"""
            wsrc, bsrc = "W", "B"
        else:
            ports = f"""module econt_dense_neuron (
  input  wire [{n * ab - 1}:0] act,
  input  wire [{n * wb - 1}:0] w,
  input  wire [{wb - 1}:0] b,
  output wire [{lb - 1}:0] y
);"""
            wsrc, bsrc = "w", "b"
        lines = ["", ports, f"  // One latent neuron: {n} products + bias, ReLU quantiser to {lb} bits "
                 f"({s.latent_rounding} rounding, saturating)."]
        lines.append(f"  wire signed [{wb - 1}:0] bias = {bsrc};")
        n_slices = n // DENSE_SLICE if (not self.hw and n % DENSE_SLICE == 0 and n > DENSE_SLICE) else 0
        if n_slices:
            self._emit_dense_slice(a)
            # The products are summed in identical slices (one module, synthesised once and kept as
            # hierarchy: a flat 128-product sum takes yosys/ABC tens of minutes); the partial sums
            # are exact modulo 2**acc_bits like every partial sum here, so the total is unchanged.
            for k in range(n_slices):
                lo = k * DENSE_SLICE
                lines.append(f"  wire signed [{a - 1}:0] psum{k};")
                lines.append(f"  econt_dense_slice u_slice{k} (.act(act[{(lo + DENSE_SLICE) * ab - 1}:{lo * ab}]), "
                             f".w({wsrc}[{(lo + DENSE_SLICE) * wb - 1}:{lo * wb}]), .psum(psum{k}));")
            total = " + ".join([self._bias_term(a, self.dense_bias_shift)] + [f"psum{k}" for k in range(n_slices)])
            lines.append(f"  wire signed [{a - 1}:0] acc = {total};")
            lines += _requant_lines("acc", a, self.dense_shift, lb, s.latent_rounding, "y", "o")
            lines.append("endmodule\n")
            self.files["econt_dense_neuron"] = (self.header("One dense (latent) neuron (16 instances in the encoder).")
                                                + "\n".join(lines) + self.footer())
            return
        # A procedural loop (not one 128-term continuous expression): simulators evaluate it
        # once per new input vector instead of rippling every input change through the adder
        # chain; synthesis builds the same adder tree either way.
        pw = self.dense_pw
        lines.append(f"  reg signed [{a - 1}:0] acc;")
        lines += self._prod_decls(pw, self.dense_pshift)
        lines += self._dense_mac_loop("acc", self._bias_term(a, self.dense_bias_shift), n, wsrc, a)
        lines += _requant_lines("acc", a, self.dense_shift, lb, s.latent_rounding, "y", "o")
        lines.append("endmodule\n")
        self.files["econt_dense_neuron"] = self.header("One dense (latent) neuron (16 instances in the encoder).") + "\n".join(lines) + self.footer()

    def _dense_mac_loop(self, acc: str, init: str, n: int, wsrc: str, a: int) -> list[str]:
        """``acc = init + Σ_j act_j · w_j`` over ``n`` dense-layer products, in one procedural block."""
        s, pw = self.s, self.dense_pw
        ab, wb = s.act_bits, s.weight_bits
        lines = ["  integer j;", "  always @* begin", f"    {acc} = {init};", f"    prod = {pw}'sd0;"]
        if self.dense_pshift:
            lines.append(f"    prodq = {pw - self.dense_pshift}'sd0;")
        lines.append(f"    for (j = 0; j < {n}; j = j + 1) begin")
        lines += self._mac(f"act[j*{ab} +: {ab}]", f"$signed({wsrc}[j*{wb} +: {wb}])", pw, self.dense_pshift,
                           acc, a, "      ")
        return lines + ["    end", "  end"]

    def _emit_dense_slice(self, a: int) -> None:
        """``DENSE_SLICE`` products of the dense layer summed to an ``a``-bit partial sum."""
        s = self.s
        ab, wb, pw = s.act_bits, s.weight_bits, self.dense_pw
        lines = ["", f"""module econt_dense_slice (
  input  wire [{DENSE_SLICE * ab - 1}:0] act,
  input  wire [{DENSE_SLICE * wb - 1}:0] w,
  output reg  [{a - 1}:0] psum
);""", f"  // {DENSE_SLICE} products of a dense neuron, summed modulo 2**{a} (the neuron's accumulator width;",
                 "  // two's complement bits, unsigned port: Debian OpenSTA 2.0.17 cannot read signed ports)."]
        lines += self._prod_decls(pw, self.dense_pshift)
        lines += self._dense_mac_loop("psum", f"{a}'sd0", DENSE_SLICE, "w", a)
        lines.append("endmodule\n")
        self.files["econt_dense_slice"] = (self.header(f"{DENSE_SLICE} products of a dense neuron (one module, "
                                                       "instantiated in every neuron).") + "\n".join(lines) + self.footer())

    # ------------------------------------------------------------------ top
    def _param_slice(self, p: int) -> str:
        """Image bits of parameter ``p`` (MSB first); one part-select when contiguous."""
        if not hasattr(self, "_img_of"):
            inv = np.empty(len(self.layout.param_bit), dtype=np.int64)
            inv[np.asarray(self.layout.param_bit)] = np.arange(len(self.layout.param_bit))
            self._img_of = inv
        wb = self.s.weight_bits
        bits = [int(self._img_of[p * wb + b]) for b in range(wb)]
        if bits == list(range(bits[0], bits[0] + wb)):
            return f"image[{bits[-1]}:{bits[0]}]"
        return "{" + ", ".join(f"image[{i}]" for i in reversed(bits)) + "}"

    def _const(self, indices: list[int]) -> str:
        """Hardwired parameters as one constant; first index in the lowest bits."""
        wb = self.s.weight_bits
        val = 0
        for pos, p in enumerate(indices):
            val |= (int(self.params[p]) & ((1 << wb) - 1)) << (pos * wb)
        return f"{len(indices) * wb}'h{val:x}"

    def emit_top(self) -> dict[str, Any]:
        s, cfg = self.s, self.cfg
        cb, ib, ab, lb = s.calq_bits, s.in_bits, s.act_bits, s.latent_bits
        mc = s.modsum_code_bits
        img_bits = s.image * s.image * ib
        act_bits = s.dense_inputs * ab
        lat_bits = s.latent * lb
        P = cfg.pipeline_stages
        reg_in, reg_norm, reg_conv = P >= 4, P >= 3, P >= 2
        ports = ["  input  wire                clk,", "  input  wire                rst_n,"]
        port_list: list[dict[str, Any]] = [
            {"name": "clk", "dir": "input", "width": 1},
            {"name": "rst_n", "dir": "input", "width": 1, "note": "synchronous, active low"},
        ]
        if not self.hw:
            bw, yw = self.cfg_ports
            ports += ["  input  wire                cfg_we,",
                      f"  input  wire [{bw - 1}:0]          cfg_block,",
                      f"  input  wire [{yw - 1}:0]          cfg_byte,",
                      "  input  wire [7:0]          cfg_wdata,"]
            port_list += [{"name": "cfg_we", "dir": "input", "width": 1},
                          {"name": "cfg_block", "dir": "input", "width": bw},
                          {"name": "cfg_byte", "dir": "input", "width": yw},
                          {"name": "cfg_wdata", "dir": "input", "width": 8}]
        ports += ["  input  wire                in_valid,",
                  f"  input  wire [{s.n_cells * cb - 1}:0]     calq,",
                  "  output wire                out_valid,",
                  f"  output wire [{lat_bits - 1}:0]      latent,",
                  f"  output wire [{mc - 1}:0]          modsum_code"]
        port_list += [{"name": "in_valid", "dir": "input", "width": 1},
                      {"name": "calq", "dir": "input", "width": s.n_cells * cb,
                       "note": f"cell i (training order) at [{cb}*i +: {cb}], unsigned"},
                      {"name": "out_valid", "dir": "output", "width": 1},
                      {"name": "latent", "dir": "output", "width": lat_bits,
                       "note": f"latent l at [{lb}*l +: {lb}], unsigned, value*2^{s.latent_frac}"},
                      {"name": "modsum_code", "dir": "output", "width": mc,
                       "note": f"{s.modsum_exp_bits}-bit exponent, {s.modsum_mant_bits}-bit mantissa"}]
        L = [f"\nmodule {TOP} (", "\n".join(ports), ");"]
        L.append(f"  // Latency: {P} clock cycle(s) from in_valid/calq to out_valid/latent/modsum_code.")
        stages = []
        widths: dict[str, int] = {}

        def pipe(name: str, width: int, d: str, q: str, vd: str, vq: str) -> None:
            # data registers need no reset (valid qualifies them); the valid bit is reset
            widths[name] = width
            L.append(f"  econt_pipe_reg #(.W({width}), .RESET(0)) u_pipe_{name} "
                     f"(.clk(clk), .rst_n(rst_n), .d({d}), .q({q}));")
            L.append(f"  econt_pipe_reg #(.W(1), .RESET(1)) u_valid_{name} "
                     f"(.clk(clk), .rst_n(rst_n), .d({vd}), .q({vq}));")

        # stage 0: optional input register
        L.append(f"  wire                v0;\n  wire [{s.n_cells * cb - 1}:0] calq_s;")
        if reg_in:
            pipe("in", s.n_cells * cb, "calq", "calq_s", "in_valid", "v0")
            stages.append("in")
        else:
            L.append("  assign v0 = in_valid;\n  assign calq_s = calq;")
        # normalisation
        L.append(f"  wire [{s.n_cells * ib - 1}:0] codes_n;\n  wire [{mc - 1}:0] msc_n;")
        L.append("  econt_normalise u_norm (.calq(calq_s), .codes(codes_n), .modsum_code(msc_n));")
        # 48 cells → 8x8 image (zeros elsewhere)
        from econt.geometry import REMAP_8X8
        pix_of = {int(px): c for c, px in enumerate(REMAP_8X8)}
        parts = []
        for px in reversed(range(s.image * s.image)):
            c = pix_of.get(px)
            parts.append(f"codes_n[{c * ib + ib - 1}:{c * ib}]" if c is not None else f"{ib}'d0")
        L.append(f"  // 8x8 image: pixel REMAP_8X8[cell] = cell, 16 fixed zeros (econt.geometry).")
        L.append(f"  wire [{img_bits - 1}:0] img_n = {{\n    " + ",\n    ".join(parts) + "};")
        L.append(f"  wire v1;\n  wire [{img_bits - 1}:0] img_s;\n  wire [{mc - 1}:0] msc_1;")
        if reg_norm:
            pipe("norm", img_bits + mc, "{msc_n, img_n}", "{msc_1, img_s}", "v0", "v1")
            stages.append("norm")
        else:
            L.append("  assign v1 = v0;\n  assign img_s = img_n;\n  assign msc_1 = msc_n;")
        # parameters
        if not self.hw:
            nbits = self.layout.blocks * self.layout.bytes_per_block * 8
            L.append(f"  wire [{nbits - 1}:0] image;")
            L.append("  econt_cfg_regs u_cfg (.clk(clk), .rst_n(rst_n), .cfg_we(cfg_we), .cfg_block(cfg_block),\n"
                     "                       .cfg_byte(cfg_byte), .cfg_wdata(cfg_wdata), .image(image));")
            L.append(f"  // Weights wired straight from the register image (econt.rtl.layout / register_map.json):\n"
                     f"  // parameter p, bit b sits in image bit register_map[p*{s.weight_bits}+b].")
        # conv
        co2 = s.conv_out * s.conv_out
        L.append(f"  wire [{co2 * ab - 1}:0] fmap [0:{s.conv_filters - 1}];")
        for f in range(s.conv_filters):
            widx = [self.conv_w_index(di, dj, f) for di in range(s.kernel) for dj in range(s.kernel)]
            if self.hw:
                L.append(f"  econt_conv_filter #(.W({self._const(widx)}), .B({self._const([self.conv_b_index(f)])})) "
                         f"u_conv{f} (.img(img_s), .act(fmap[{f}]));")
            else:
                wexpr = "{" + ", ".join(self._param_slice(p) for p in reversed(widx)) + "}"
                L.append(f"  econt_conv_filter u_conv{f} (.img(img_s),\n    .w({wexpr}),\n"
                         f"    .b({self._param_slice(self.conv_b_index(f))}), .act(fmap[{f}]));")
        # flatten (row, col, filter) in Keras order: index (p*F + f)
        parts = []
        for idx in reversed(range(s.dense_inputs)):
            p, f = divmod(idx, s.conv_filters)
            parts.append(f"fmap[{f}][{p * ab + ab - 1}:{p * ab}]")
        L.append(f"  // Flatten in Keras order: dense input (row*{s.conv_out}+col)*{s.conv_filters}+filter.")
        L.append(f"  wire [{act_bits - 1}:0] act_c = {{\n    " + ",\n    ".join(parts) + "};")
        L.append(f"  wire v2;\n  wire [{act_bits - 1}:0] act_s;\n  wire [{mc - 1}:0] msc_2;")
        if reg_conv:
            pipe("conv", act_bits + mc, "{msc_1, act_c}", "{msc_2, act_s}", "v1", "v2")
            stages.append("conv")
        else:
            L.append("  assign v2 = v1;\n  assign act_s = act_c;\n  assign msc_2 = msc_1;")
        # dense
        L.append(f"  wire [{lat_bits - 1}:0] lat_d;")
        for l_ in range(s.latent):
            widx = [self.dense_w_index(kk, l_) for kk in range(s.dense_inputs)]
            if self.hw:
                L.append(f"  econt_dense_neuron #(.W({self._const(widx)}), .B({self._const([self.dense_b_index(l_)])})) "
                         f"u_dense{l_} (.act(act_s), .y(lat_d[{l_ * lb + lb - 1}:{l_ * lb}]));")
            else:
                wexpr = "{" + ", ".join(self._param_slice(p) for p in reversed(widx)) + "}"
                L.append(f"  econt_dense_neuron u_dense{l_} (.act(act_s),\n    .w({wexpr}),\n"
                         f"    .b({self._param_slice(self.dense_b_index(l_))}), .y(lat_d[{l_ * lb + lb - 1}:{l_ * lb}]));")
        # output register (always present)
        pipe("out", lat_bits + mc, "{msc_2, lat_d}", "{modsum_code, latent}", "v2", "out_valid")
        stages.append("out")
        L.append("endmodule\n")
        self.files[TOP] = self.header(f"ECON-T encoder top: {s.n_cells} cells -> {s.latent} x {lb}-bit latent + "
                                      f"{mc}-bit module sum, one inference per clock.") + "\n".join(L) + self.footer()
        return {"ports": port_list, "pipeline_registers": stages, "pipeline_register_widths": widths}


def generate_design(cfg: RtlConfig, out_dir: str | Path, spec: Optional[ArchSpec] = None,
                    layout: Optional[ConfigLayout] = None, hardwired_params: Optional[np.ndarray] = None) -> GeneratedDesign:
    """Generate the Verilog for ``cfg`` into ``out_dir`` (created; existing .v files replaced).

    ``spec`` defaults to the architecture of ``cfg.model_config`` (the model stage's
    EncoderConfig); ``layout`` to the register map of ``econt.export`` (derived by probing
    ``i2c_bytes``); ``hardwired_params`` (flat, see ``econt.rtl.layout``) to the weights
    JSON named by ``cfg.hardwired_weights`` when ``cfg.weights == 'hardwired'``.
    """
    if spec is None:
        from econt.model.config import load_encoder_config
        from econt.rtl.arch import arch_from_encoder_config
        spec = arch_from_encoder_config(load_encoder_config(cfg.model_config), calq_bits=cfg.calq_bits,
                                        arithmetic=cfg.arithmetic)
    if spec.arithmetic != cfg.arithmetic:
        raise ConfigError(f"design '{cfg.name}': arithmetic is {cfg.arithmetic!r} in the RTL config but "
                          f"{spec.arithmetic!r} in the architecture passed in; make them agree.")
    if layout is None:
        from econt.model.config import load_encoder_config
        layout = default_layout(spec, load_encoder_config(cfg.model_config))
    if cfg.weights == "hardwired" and hardwired_params is None:
        hardwired_params = load_hardwired_params(cfg, spec)
    gen = _Gen(cfg, spec, layout, hardwired_params)
    if cfg.tmr == "selective":
        gen.protected = load_protection(cfg, layout)
    gen.emit_vote()
    gen.emit_pipe_reg()
    gated = not gen.hw and cfg.cfg_storage == "gated"
    if not gen.hw:
        gen.emit_cfg_regs()
    if gated:
        gen.emit_clock_gate()
    gen.emit_normalise()
    gen.emit_conv_filter()
    gen.emit_dense_neuron()
    top_info = gen.emit_top()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.v"):
        old.unlink()
    order = ["econt_vote", "econt_pipe_reg"] + (["econt_clock_gate"] if gated else []) + \
        (["econt_cfg_regs"] if not gen.hw else []) + \
        ["econt_normalise", "econt_conv_filter"] + (["econt_dense_slice"] if "econt_dense_slice" in gen.files else []) + \
        ["econt_dense_neuron", TOP]
    files = []
    digest = hashlib.sha256()
    for name in order:
        p = out / f"{name}.v"
        p.write_text(gen.files[name])
        digest.update(gen.files[name].encode())
        files.append(p)
    config_bits = 0 if gen.hw else spec.config_bits
    copies = 3 if gen.tmr_cfg else 1
    stored_bits = 0 if gen.hw else 8 * layout.stored_bytes
    protected_bits = None if gen.protected is None else int(gen.protected.sum())
    manifest = {
        "name": cfg.name,
        "top": TOP,
        "generator_version": GENERATOR_VERSION,
        "files": [p.name for p in files],
        "rtl_config": to_plain(cfg),
        "arch": spec.to_dict(),
        "tmr": cfg.tmr,
        "weights": cfg.weights,
        "pipeline_stages": cfg.pipeline_stages,
        "latency_cycles": cfg.pipeline_stages,
        "pipeline_registers": top_info["pipeline_registers"],
        "pipeline_register_widths": top_info["pipeline_register_widths"],
        "clock_mhz": cfg.clock_mhz,
        "config_bits": config_bits,
        # whole stored bytes (the last one may hold unused bits)
        "config_flops": (stored_bits * copies if protected_bits is None else stored_bits + 2 * protected_bits),
        "protected_bits": protected_bits,
        "protection_mask": None if cfg.protection_mask is None else str(cfg.protection_mask),
        "cfg_storage": None if gen.hw else cfg.cfg_storage,
        "cfg_gating": None if gen.hw else gen.cfg_gating,
        "register_map": None if gen.hw else {
            "blocks": layout.blocks, "bytes_per_block": layout.bytes_per_block, "block_bits": layout.block_bits,
            "stored_bytes": layout.stored_bytes,
            "write_port": "cfg_we/cfg_block/cfg_byte/cfg_wdata, one byte per clock, synchronous",
        },
        "accumulator_bits": {"conv": gen.conv_acc, "dense": gen.dense_acc},
        "arithmetic": spec.arithmetic,
        "lint_waivers": ({"UNUSEDSIGNAL": "econt_conv_filter/econt_dense_neuron/econt_dense_slice 'prod' low bits: the chip arithmetic "
                                          "truncates every product, so those bits are dropped by design"}
                         if spec.arithmetic == "chip" else {}),
        "ports": top_info["ports"],
        "hierarchy": {"econt_conv_filter": spec.conv_filters, "econt_dense_neuron": spec.latent},
        "config_hash": config_hash({"rtl": to_plain(cfg), "arch": spec.to_dict(),
                                    "layout": hashlib.sha256(np.asarray(layout.param_bit).tobytes()).hexdigest(),
                                    "protected": None if gen.protected is None else
                                    hashlib.sha256(np.packbits(gen.protected).tobytes()).hexdigest(),
                                    "params": None if hardwired_params is None else
                                    hashlib.sha256(np.asarray(hardwired_params, dtype=np.int64).tobytes()).hexdigest()}),
        "verilog_sha256": digest.hexdigest(),
    }
    if not gen.hw:
        runs, pb, i = [], layout.param_bit, 0
        while i < len(pb):
            j = i
            while j + 1 < len(pb) and pb[j + 1] == pb[j] + 1:
                j += 1
            runs.append([i, pb[i], j - i + 1])
            i = j + 1
        (out / "register_map.json").write_text(json.dumps(
            {"blocks": layout.blocks, "block_bits": layout.block_bits, "bytes_per_block": layout.bytes_per_block,
             "weight_bits": spec.weight_bits,
             "doc": "image bit i = bit i%8 of byte (i%block_bits)//8 of block i//block_bits; runs = "
                    "[image_start, param_bit_start, length]: image bits carry parameter bits p*weight_bits+b",
             "runs": runs}, indent=1, sort_keys=True) + "\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    write_resolved_config(out, {"rtl": to_plain(cfg), "arch": spec.to_dict()})
    return GeneratedDesign(out, TOP, files, manifest)


def load_protection(cfg: RtlConfig, layout: ConfigLayout) -> np.ndarray:
    """tmr=selective: the mask file as a bool per image bit; ConfigError naming the field on a bad
    or missing file, or one ranked for a register map of another size."""
    from econt.errors import DataError
    from econt.faults.mask import load_mask

    nbits = layout.blocks * layout.bytes_per_block * 8
    try:
        prot = load_mask(cfg.protection_mask, n_bits=nbits)
    except DataError as exc:
        raise ConfigError(f"design '{cfg.name}': field 'protection_mask': {exc}") from exc
    mask = np.zeros(nbits, dtype=bool)
    mask[prot] = True
    return mask


def default_layout(spec: ArchSpec, encoder_cfg: Any) -> ConfigLayout:
    """The register layout of ``econt.export.i2c_bytes`` (derived by probing it).

    Without the export stage installed, the ECON-T emulator's convention (parameter p in
    image bits [6p, 6p+6), checked against the deployed init.yaml by the conformance stage).
    """
    from econt.rtl.layout import layout_from_export, sequential_layout
    try:
        import econt.export  # noqa: F401
    except ImportError:
        return sequential_layout(spec)
    return layout_from_export(spec, encoder_cfg)


def load_hardwired_params(cfg: RtlConfig, spec: ArchSpec) -> np.ndarray:
    from econt.export import load_weights_json
    from econt.rtl.layout import flatten_params
    w = load_weights_json(cfg.hardwired_weights)
    return flatten_params(w.conv_w, w.conv_b, w.dense_w, w.dense_b)
