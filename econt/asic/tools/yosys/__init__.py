"""The kit's yosys tool package: SiliconCompiler's stock ``syn_asic`` task configured once for
both flow paths, and the standard-cell library description it reads."""
from __future__ import annotations

from pathlib import Path

from siliconcompiler.tools.yosys import YosysStdCellLibrary

from econt.asic.yosys_shim import SYNTH_ARGS_ENV


def configure_synthesis(syn_task, yosys_exe: str, abc_clock_period_ps: float | None = None) -> None:
    """The synthesis settings of both flow paths, written once: keep the hierarchy so each distinct
    module is synthesised once, ``synth -booth``, and the yosys executable's folder."""
    syn_task.set("var", "flatten", False)
    syn_task.set("var", "auto_flatten", False)
    syn_task.set("var", "hier_opt", False)
    # `rename -wire` (SC's autoname step) trips an internal assertion of yosys 0.70 on the
    # encoder's hierarchical netlist (count_id(cell->name) == 0); names only, so skip it
    syn_task.set("var", "autoname", False)
    if abc_clock_period_ps is not None:
        syn_task.set("var", "abc_clock_period", abc_clock_period_ps)
    syn_task.set_environmentalvariable(SYNTH_ARGS_ENV, "-booth")
    # the yosys found by econt.asic.flow.find_yosys: its folder (the venv's bin need not be on
    # PATH) and its name (the kit's shim is `econt-yosys`, so it never shadows a real yosys);
    # SC's own setup sets the name `yosys` only where none is set
    syn_task.set_path(str(Path(yosys_exe).parent))
    syn_task.set("exe", Path(yosys_exe).name)


class KitStdCellLibrary(YosysStdCellLibrary):
    """A standard-cell library described by a kit PDK config (module-level so SC can pickle it)."""

    def configure(self, name: str, cfg, liberty: Path) -> None:
        self.set_name(name)
        with self.active_fileset("models.timing.typical.nldm"):
            self.add_file(str(liberty))
            self.add_asic_libcornerfileset("typical", "nldm")
        cells = cfg.cells
        self.set_yosys_driver_cell(cells.driver)
        self.set_yosys_buffer_cell(*cells.buffer)
        self.set_yosys_tielow_cell(*cells.tie_low)
        self.set_yosys_tiehigh_cell(*cells.tie_high)
        # ABC wants ps; the liberty delays of both libraries are in ns
        self.set_yosys_abc(1000, cells.abc_load_ff)
        if cells.dont_use:
            self.add_asic_celllist("dontuse", list(cells.dont_use))
        if cells.clock_cells:
            self.add_asic_celllist("clkbuf", list(cells.clock_cells))
