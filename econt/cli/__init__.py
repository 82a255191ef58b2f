"""Thin command-line layer: argument parsing and error reporting only."""
