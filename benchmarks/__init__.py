"""Load benchmark for csms: load generator, reference servers and the harness.

Entry point: ``python benchmarks/run.py --help``. The modules are also runnable on their own
(``python benchmarks/loadgen.py``, ``python benchmarks/echo_server.py``,
``python benchmarks/reference_server.py``) and do not import each other, so each one works both
as a script and as ``benchmarks.<module>``.
"""
