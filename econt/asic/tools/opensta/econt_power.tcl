# econt kit power script for Debian OpenSTA 2.0.17, run as a child of econt_sta.tcl (same
# working directory and ./econt_sta_vars.tcl). One activity scenario per invocation (this
# OpenSTA caches power after the first report_power).
source ./econt_sta_vars.tcl
read_liberty $econt_liberty
# the netlist with tie cells replaced by held top-level ports (OpenSTA 2.0.17 segfaults in
# report_power on constant nets that cross a hierarchy boundary; econt/asic/power_netlist.py)
read_verilog $econt_power_netlist
link_design $econt_top
if { $econt_clock_port != "" } {
    create_clock -name core_clk -period $econt_clock_period_ns [get_ports $econt_clock_port]
} else {
    create_clock -name core_clk -period $econt_clock_period_ns
}
# Activities are "toggles per clock cycle" only for inputs launched by the clock: OpenSTA 2.0.17
# gives an input without an input delay no clock, and its activity then adds (almost) no power
# (measured: an inverter chain driven at 1 toggle/cycle reported 1e-16 W instead of 5e-8 W).
set non_clock_inputs [list]
foreach p [all_inputs] {
    if { [get_full_name $p] != $econt_clock_port } { lappend non_clock_inputs $p }
}
if { [llength $non_clock_inputs] > 0 } {
    set_input_delay -clock core_clk 0 $non_clock_inputs
}
set out [open reports/econt_power.txt w]
if { $econt_activity_mode == "measured" } {
    # ports without a measured rate get the default (documented in the report)
    set_power_activity -input -activity $econt_default_activity -duty 0.5
    set fh [open $econt_activity_file r]
    set n_applied 0
    while { [gets $fh line] >= 0 } {
        if { [string index $line 0] == "#" || [llength $line] < 3 } { continue }
        lassign $line port act duty
        set pins [get_ports -quiet $port]
        if { [llength $pins] == 0 } { continue }
        set_power_activity -input_ports $pins -activity $act -duty $duty
        incr n_applied
    }
    close $fh
    puts $out "activity_ports_applied $n_applied"
} else {
    set_power_activity -input -activity $econt_default_activity -duty 0.5
    puts $out "activity_ports_applied 0"
}

# tie ports carry a constant: no toggles, duty = the constant's value
foreach tie $econt_tie_ports {
    lassign $tie port duty
    set_power_activity -input_ports [get_ports $port] -activity 0 -duty $duty
}
puts $out "tie_ports_held [llength $econt_tie_ports]"
flush $out
report_power -digits 6 > reports/power.rpt
close $out
