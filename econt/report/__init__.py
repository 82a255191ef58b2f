"""Reports: the static dashboard ``reports/index.html`` built from each stage's summary.json and plots."""
