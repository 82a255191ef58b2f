# econt kit timing + power script for Debian OpenSTA 2.0.17 (SiliconCompiler's own
# sc_timing.tcl needs OpenSTA >= 2.6.2). Run by the kit's SC task `opensta/econt_sta`
# from the node work directory; every input comes from ./econt_sta_vars.tcl, written by the
# task's pre_process:
#   econt_liberty econt_netlist econt_top econt_clock_port econt_clock_period_ns
#   econt_input_delay_ns econt_activity_mode (vectorless|measured) econt_default_activity
#   econt_activity_file (lines: "<port> <toggles/cycle> <duty>") econt_report_paths
#   econt_sta_exe econt_power_script (the child power run, econt_power.tcl beside this script)
#   econt_power_netlist econt_tie_ports (the power run's netlist and its held tie ports)
# Results: reports/econt_sta.txt (key value lines), reports/timing.rpt, reports/power.rpt.
# OpenSTA 2.0.17 caches power after the first report_power, so one invocation = one
# activity scenario; the kit runs one SC node per scenario.

source ./econt_sta_vars.tcl
file mkdir reports

read_liberty $econt_liberty
read_verilog $econt_netlist
link_design $econt_top

# Constraints: one clock, inputs launched and outputs captured by the same clock with a
# small external delay, so register-to-register and I/O paths are both timed.
if { $econt_clock_port != "" } {
    create_clock -name core_clk -period $econt_clock_period_ns [get_ports $econt_clock_port]
    set non_clock_inputs [list]
    foreach p [all_inputs] {
        if { [get_full_name $p] != $econt_clock_port } { lappend non_clock_inputs $p }
    }
    if { [llength $non_clock_inputs] > 0 } {
        set_input_delay -clock core_clk $econt_input_delay_ns $non_clock_inputs
    }
    set_output_delay -clock core_clk $econt_input_delay_ns [all_outputs]
} else {
    create_clock -name core_clk -period $econt_clock_period_ns
    set_input_delay -clock core_clk 0 [all_inputs]
    set_output_delay -clock core_clk 0 [all_outputs]
}

set out [open reports/econt_sta.txt w]

report_checks -path_delay max -group_count $econt_report_paths -fields {slew capacitance} \
    -digits 4 > reports/timing.rpt
report_checks -path_delay min -digits 4 > reports/timing_hold.rpt

# worst setup slack over all constrained paths
set worst_slack 1e30
foreach path_end [find_timing_paths -path_delay max -group_count 1] {
    set s [get_property $path_end slack]
    if { $s < $worst_slack } { set worst_slack $s }
}
puts $out "setup_slack_ns $worst_slack"
set worst_hold 1e30
foreach path_end [find_timing_paths -path_delay min -group_count 1] {
    set s [get_property $path_end slack]
    if { $s < $worst_hold } { set worst_hold $s }
}
puts $out "hold_slack_ns $worst_hold"
flush $out

# ---- power, in a child OpenSTA ----
# OpenSTA 2.0.17 segfaults in report_power when a constant net crosses a hierarchy boundary;
# the child reads econt_power_netlist, where tie cells are held ports instead. Running power in
# a child process still keeps the timing results if some other netlist crashes it, and the
# report then says that power is unavailable instead of losing the whole node.
# (OpenSTA 2.0.17 leaves [info script] empty, so the vars file names the script and executable.)
if { [catch {exec $econt_sta_exe -no_init -exit $econt_power_script >& reports/power.log} err] } {
    puts $out "power_status failed"
    puts $out "power_error OpenSTA_power_run_failed"
} else {
    puts $out "power_status ok"
}
close $out
