"""Sweeps: a paper's whole experiment table from one TOML file, `fastmeta sweep FILE`.

A sweep file names a grid of trials (learner × env × seed × preset, and for First-Explore the
control; optionally named binding variants) with the bindings and resources they share
(`spec.py` reads and checks it: every trial's config is resolved before anything starts). The
trials run on Ray Tune (`runner.py`, the optional `cluster` extra): on this machine by default,
on an existing Ray cluster with `--address`. Each trial is an ordinary `fastmeta train` run in
`<sweep_dir>/runs/<trial>/`, launched as a subprocess with `--resume`, so a trial can also be run,
inspected and continued by hand; a trial whose process dies is restarted and resumes from its
checkpoint. When the trials are done, `<sweep_dir>/comparison/<env>/` gets the plot, table and
CSV of every method over seeds (fastmeta.agents.baselines.compare's writer).

Nothing outside this package imports Ray.
"""
