"""Switching activity measured by simulating real events through the generated RTL.

The kit's own Icarus testbench loads the configuration registers with a real register image
(the ECON-T ``init.yaml`` when ../shared has it), then streams one event per clock (40 MHz
bunch crossings): the ECON-T input vectors (one LHC orbit of consecutive crossings from a
ttbar simulation) where present, else the synthetic test split. The VCD of the measurement
window (every signal of the design) drives the kit's gate-level power calculation
(econt.asic.gatepower); its input-port toggle rates also go to OpenSTA's own power run.
"""
from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from econt.errors import DataError, ToolError
from econt.paths import shared_path

TB_TOP = "econt_activity_tb"


@dataclass
class Stimulus:
    calq: np.ndarray          # (N, 48) unsigned integers, one event per clock
    cfg_bytes: list[tuple[int, int, int]]  # (block, byte, value) writes through the register port
    source: str               # human-readable provenance
    weights_source: str


# ----------------------------------------------------------------------------- stimulus
def _econt_vectors_calq(n: int) -> tuple[np.ndarray, str] | None:
    """First ``n`` crossings of the ECON-T test vectors decoded as the chip does (mux, float→fixed, calibration)."""
    from econt.data.vectors import shared_econt_vectors

    # the kit's cell order: the RTL's calq port is cell-ordered (econt.data.vectors)
    ds = shared_econt_vectors(order="cells", limit=n)
    if ds is None:
        return None
    calq = np.asarray(ds.charges, dtype=np.int64)
    return calq, f"ECON-T test vectors {ds.source} (first {len(calq)} consecutive crossings, ttbar)"


def _synthetic_calq(n: int, seed: int) -> tuple[np.ndarray, str]:
    from econt.data.splits import split_dataset
    from econt.data.synthetic import generate

    ds = generate(max(4 * n, 200), seed=seed)
    _, _, test = split_dataset(ds, seed=seed)
    calq = np.rint(np.asarray(test.charges[:n])).astype(np.int64)
    return calq, f"synthetic test split (econt.data.synthetic, seed {seed}, {len(calq)} events)"


def init_yaml_register_image(path: Path) -> list[tuple[int, int, int]]:
    """The (block, byte, value) writes of an ECON-T ``init.yaml`` ``Encoder`` section.

    Each block holds 1,072 bits in fields ``weights_byte<16j>`` (128 bits each, the last 48 bits),
    i.e. 134 bytes; byte k of block b is bits [8k, 8k+8) of the block's integer.
    """
    import yaml

    doc = yaml.safe_load(Path(path).read_text())
    enc = doc.get("Encoder") if isinstance(doc, dict) else None
    if not isinstance(enc, dict):
        raise DataError(f"{path}: no 'Encoder' section; expected the ECON-T I2C register image layout.")
    writes = []
    for block in sorted(int(b) for b in enc):
        fields = enc[block] if block in enc else enc[str(block)]
        value = 0
        for key, v in fields.items():
            m = re.fullmatch(r"weights_byte(\d+)", str(key))
            if not m:
                continue
            value |= int(v) << (8 * int(m.group(1)))
        for k in range(134):
            writes.append((block, k, (value >> (8 * k)) & 0xFF))
    return writes


def random_register_image(seed: int, blocks: int = 12, bytes_per_block: int = 134) -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    return [(b, k, int(rng.integers(0, 256))) for b in range(blocks) for k in range(bytes_per_block)]


def make_stimulus(source: str, n_events: int, seed: int, has_cfg_port: bool) -> Stimulus:
    """Events (and a register image) for the activity simulation; ``source`` as in the PDK config."""
    got = None
    if source in ("auto", "econt-vectors"):
        got = _econt_vectors_calq(n_events)
        if got is None and source == "econt-vectors":
            raise DataError("activity.source is 'econt-vectors' but ../shared/econt-vectors/testInput.csv (and "
                            "AE_8x8_c8_S2_ele_qkeras/init.yaml) are absent. Use source: auto or synthetic.")
    if got is None:
        got = _synthetic_calq(n_events, seed)
    calq, src = got
    cfg: list[tuple[int, int, int]] = []
    wsrc = "none (hard-wired weights)"
    if has_cfg_port:
        init = shared_path("econt-vectors", "AE_8x8_c8_S2_ele_qkeras", "init.yaml")
        if init is not None:
            cfg = init_yaml_register_image(init)
            wsrc = f"ECON-T register image {init}"
        else:
            cfg = random_register_image(seed)
            wsrc = f"uniform random register image (seed {seed}); ../shared absent"
    return Stimulus(calq=calq, cfg_bytes=cfg, source=src, weights_source=wsrc)


def random_toggle_stimulus(base: Stimulus, manifest: dict, rate: float, seed: int) -> Stimulus:
    """The vectorless scenario: ``base``'s register image and event count, but every bit of the
    event word toggles independently with probability ``rate`` per cycle (start: uniform random)."""
    calq_port = _port(manifest, "calq")
    if calq_port is None:
        raise DataError("design manifest has no 'calq' input port; cannot drive events.")
    n, n_cells = base.calq.shape
    cell_bits = int(calq_port["width"]) // n_cells
    rng = np.random.default_rng(seed)
    bits = np.empty((n, n_cells, cell_bits), dtype=np.int64)
    bits[0] = rng.integers(0, 2, size=(n_cells, cell_bits))
    flips = rng.random((n, n_cells, cell_bits)) < min(rate, 1.0)
    for t in range(1, n):
        bits[t] = bits[t - 1] ^ flips[t]
    calq = (bits << np.arange(cell_bits, dtype=np.int64)).sum(axis=2)
    return Stimulus(calq=calq, cfg_bytes=base.cfg_bytes,
                    source=f"random input bits, {rate:g} transitions/cycle per bit (seed {seed})",
                    weights_source=base.weights_source)


# ----------------------------------------------------------------------------- testbench
def _port(manifest: dict, name: str) -> dict | None:
    for p in manifest.get("ports", []):
        if p["name"] == name:
            return p
    return None


def write_testbench(manifest: dict, stim: Stimulus, out_dir: Path, clock_period_ns: float,
                    dump_depth: int = 0) -> Path:
    """Write the testbench and its $readmemh stimulus files into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    calq_port = _port(manifest, "calq")
    if calq_port is None:
        raise DataError("design manifest has no 'calq' input port; cannot drive events.")
    width = int(calq_port["width"])
    n_cells = stim.calq.shape[1]
    cell_bits = width // n_cells
    if np.any(stim.calq < 0) or np.any(stim.calq >= (1 << cell_bits)):
        raise DataError(f"activity stimulus: charges outside the {cell_bits}-bit input range of the design "
                        f"(min {stim.calq.min()}, max {stim.calq.max()}).")
    hex_digits = (width + 3) // 4
    with open(out_dir / "events.hex", "w") as fh:
        for row in stim.calq:
            word = 0
            for i, v in enumerate(row):
                word |= int(v) << (cell_bits * i)
            fh.write(f"{word:0{hex_digits}x}\n")
    has_cfg = _port(manifest, "cfg_we") is not None
    decls, conns, cfg_code = [], [], ""
    if has_cfg:
        bw = int(_port(manifest, "cfg_block")["width"])
        yw = int(_port(manifest, "cfg_byte")["width"])
        cw = bw + yw + 8
        with open(out_dir / "cfg.hex", "w") as fh:
            for b, k, v in stim.cfg_bytes:
                fh.write(f"{(b << (yw + 8)) | (k << 8) | v:0{(cw + 3) // 4}x}\n")
        decls.append(f"  reg cfg_we = 0; reg [{bw - 1}:0] cfg_block = 0; reg [{yw - 1}:0] cfg_byte = 0; "
                     f"reg [7:0] cfg_wdata = 0;\n  reg [{cw - 1}:0] cfgmem [0:{max(len(stim.cfg_bytes), 1) - 1}];")
        conns += [".cfg_we(cfg_we)", ".cfg_block(cfg_block)", ".cfg_byte(cfg_byte)", ".cfg_wdata(cfg_wdata)"]
        cfg_code = (f'    $readmemh("cfg.hex", cfgmem);\n'
                    f"    for (i = 0; i < {len(stim.cfg_bytes)}; i = i + 1) begin\n"
                    f"      @(negedge clk); cfg_we = 1; {{cfg_block, cfg_byte, cfg_wdata}} = cfgmem[i];\n"
                    f"    end\n"
                    f"    @(negedge clk); cfg_we = 0; cfg_block = 0; cfg_byte = 0; cfg_wdata = 0;\n")
    outs = []
    for p in manifest["ports"]:
        if p["dir"] == "output":
            decls.append(f"  wire [{int(p['width']) - 1}:0] {p['name']};")
            outs.append(f".{p['name']}({p['name']})")
    half = clock_period_ns / 2.0
    n = len(stim.calq)
    tb = f"""`timescale 1ns / 1ps
// econt activity testbench (generated by econt.asic.activity): register image, then one event per clock.
module {TB_TOP};
  reg clk = 0;
  reg rst_n = 0;
  reg in_valid = 0;
  reg [{width - 1}:0] calq = 0;
  reg [{width - 1}:0] events [0:{n - 1}];
{chr(10).join(decls)}
  integer i;
  econt_encoder dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .calq(calq),
    {", ".join(conns + outs)});
  always #{half} clk = ~clk;
  initial begin
    $readmemh("events.hex", events);
    repeat (2) @(negedge clk);
    rst_n = 1;
{cfg_code}    repeat (2) @(negedge clk);
    // measurement window: exactly {n} clock cycles, starting at a falling edge
    $dumpfile("activity.vcd");
    $dumpvars({dump_depth}, dut);
    for (i = 0; i < {n}; i = i + 1) begin
      in_valid = 1; calq = events[i];
      @(negedge clk);
    end
    $dumpflush;
    $finish;
  end
endmodule
"""
    tb_path = out_dir / f"{TB_TOP}.v"
    tb_path.write_text(tb)
    return tb_path


def simulate(design_files: list[Path], tb: Path, work: Path, timeout_s: float = 1800) -> Path:
    """Compile and run the testbench with Icarus; returns the VCD path."""
    exe = work / "activity.vvp"
    cmd = ["iverilog", "-g2005", "-o", str(exe), "-s", TB_TOP, str(tb), *[str(f) for f in design_files]]
    try:
        r = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError as exc:
        raise ToolError("iverilog not found. Fix: `make setup` (Debian package iverilog).") from exc
    if r.returncode != 0:
        (work / "iverilog.log").write_text(r.stdout + r.stderr)
        raise ToolError(f"iverilog failed on the activity testbench ({work / 'iverilog.log'}): {r.stderr[-800:]}")
    r = subprocess.run(["vvp", "-n", str(exe)], cwd=work, capture_output=True, text=True, timeout=timeout_s)
    (work / "vvp.log").write_text(r.stdout + r.stderr)
    vcd = work / "activity.vcd"
    if r.returncode != 0 or not vcd.is_file():
        raise ToolError(f"vvp failed on the activity testbench ({work / 'vvp.log'}).")
    return vcd


# ----------------------------------------------------------------------------- VCD
@dataclass
class BitActivity:
    toggles: int
    high_time: float


@dataclass
class VcdHeader:
    timescale_ns: float
    variables: list[tuple[str, str, str, int, int]]  # (id code, scope path, name, width, lsb index)


def read_vcd_header(fh, source: Path) -> VcdHeader:
    """Read a VCD's definitions from ``fh`` up to ``$enddefinitions`` (the value changes follow)."""
    scope: list[str] = []
    ts_ns = None
    variables = []
    for line in fh:
        s = line.strip()
        if s.startswith("$timescale"):
            text = s
            while "$end" not in text:
                text += " " + next(fh).strip()
            m = re.search(r"(\d+)\s*(s|ms|us|ns|ps|fs)", text)
            ts_ns = int(m.group(1)) * {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3, "fs": 1e-6}[m.group(2)]
        elif s.startswith("$scope"):
            scope.append(s.split()[2])
        elif s.startswith("$upscope"):
            scope.pop()
        elif s.startswith("$var"):
            parts = s.split()
            lsb = 0
            if len(parts) > 5 and parts[5].startswith("["):
                r = parts[5].strip("[]").split(":")
                lsb = min(int(r[0]), int(r[-1]))
            variables.append((parts[3], ".".join(scope), parts[4], int(parts[2]), lsb))
        elif s.startswith("$enddefinitions"):
            if ts_ns is None:
                raise DataError(f"{source}: no $timescale in the VCD header")
            return VcdHeader(ts_ns, variables)
    raise DataError(f"{source}: no $enddefinitions; the VCD is truncated")


_XZ_AS_0 = str.maketrans("xzXZ", "0000")


def read_vcd_changes(fh) -> Iterator[tuple[int | None, str, str]]:
    """The value changes of a VCD body (``fh`` after :func:`read_vcd_header`), the kit's one reader
    of them: ``(t, "", "")`` for a timestamp ``#t``, ``(None, code, value)`` for a change, the value
    in binary digits, MSB first (a scalar one digit); x and z read as 0. Other lines
    (``$dumpvars``, ``$end``, reals) are skipped."""
    for line in fh:
        c = line[:1]
        if c == "#":
            yield int(line[1:]), "", ""
        elif c in ("0", "1", "x", "z", "X", "Z"):
            code = line[1:].strip()
            if code:
                yield None, code, "1" if c == "1" else "0"
        elif c in ("b", "B"):
            val, code = line[1:].split()
            yield None, code, val.translate(_XZ_AS_0)


def toggle_rates(vcd: Path, clock_period_ns: float, timescale_ns: float | None = None) -> dict:
    """Per-bit toggle rates (toggles per clock cycle) and duty cycles from a VCD.

    Returns ``{"window_cycles": n, "signals": {scope_path: {name: {"width": w, "rate": [..], "duty": [..]}}}}``
    where bit i of a vector is index i (LSB = 0). The window spans the dump start to the last timestamp.
    """
    with open(vcd) as fh:
        header = read_vcd_header(fh, vcd)
        ts_ns = timescale_ns or header.timescale_ns
        vars_by_id: dict[str, list[tuple[str, str, int]]] = {}
        for code, path, name, width, _ in header.variables:
            vars_by_id.setdefault(code, []).append((path, name, width))
        state: dict[str, np.ndarray] = {}
        toggles: dict[str, np.ndarray] = {}
        high: dict[str, np.ndarray] = {}
        for code, lst in vars_by_id.items():
            w = lst[0][2]
            state[code] = np.zeros(w, dtype=np.int8)
            toggles[code] = np.zeros(w, dtype=np.int64)
            high[code] = np.zeros(w, dtype=np.float64)
        last_t = None
        t0 = None
        t = 0
        for when, code, val in read_vcd_changes(fh):
            if when is not None:
                t = when
                if t0 is None:
                    t0 = t
                if last_t is not None and t > last_t:
                    dt = t - last_t
                    for code, st in state.items():
                        high[code] += dt * (st == 1)
                last_t = t
                continue
            if code not in state:
                continue
            w = len(state[code])
            if w == 1 and len(val) == 1:
                bits = np.array([1 if val == "1" else 0], dtype=np.int8)
            else:
                val = val.rjust(w, "0")[-w:]
                bits = (np.frombuffer(val.encode(), dtype=np.uint8)[::-1] - ord("0")).astype(np.int8)
            prev = state[code]
            if t0 is not None and t > t0:
                toggles[code] += prev != bits
            state[code] = bits
    if t0 is None or last_t is None or ts_ns is None:
        raise DataError(f"{vcd}: no value changes found; the activity simulation produced an empty dump.")
    window_ns = (last_t - t0) * ts_ns
    n_cycles = window_ns / clock_period_ns
    if n_cycles < 1:
        raise DataError(f"{vcd}: measurement window shorter than one clock cycle.")
    out: dict = {"window_cycles": n_cycles, "signals": {}}
    for code, lst in vars_by_id.items():
        rate = (toggles[code] / n_cycles).tolist()
        duty = (high[code] / max(last_t - t0, 1)).tolist()
        for scope_path, name, width in lst:
            out["signals"].setdefault(scope_path, {})[name] = {"width": width, "rate": rate, "duty": duty}
    return out


def port_activity_lines(rates: dict, dut_scope: str, inputs: list[dict], clock: str = "clk") -> list[str]:
    """Lines '<port> <toggles/cycle> <duty>' for OpenSTA's power run (bit-blasted names as in the netlist)."""
    sig = rates["signals"]
    top = sig.get(dut_scope, {})
    lines = [f"# window {rates['window_cycles']:.1f} cycles"]
    for p in inputs:
        name, width = p["name"], int(p["width"])
        if name == clock or name not in top:
            continue
        rec = top[name]
        for i in range(width):
            pin = name if width == 1 else f"{name}[{i}]"
            lines.append(f"{pin} {rec['rate'][i]:.6g} {rec['duty'][i]:.6g}")
    return lines


def summarise_inputs(rates: dict, dut_scope: str, inputs: list[dict], clock: str = "clk") -> dict:
    """Mean toggle rate per input port (toggles per cycle per bit)."""
    top = rates["signals"].get(dut_scope, {})
    return {p["name"]: float(np.mean(top[p["name"]]["rate"])) for p in inputs
            if p["name"] != clock and p["name"] in top}
