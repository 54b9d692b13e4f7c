"""Stage 3, the dependency graph: which file imports which, and in what order to show them.

:mod:`resolve` maps each import a file wrote to files inside the repository, one resolver per
language family (Python packages, JS/TS with tsconfig paths and workspaces, Go modules, Rust,
JVM, C/C++ include dirs, Ruby, PHP PSR-4, C#); :mod:`build` turns the resolved imports into a
:class:`~repoctx.types.Graph` of typed edges; :mod:`order` condenses import cycles into strongly
connected components, orders dependencies before dependents and ranks files for relevance.
"""
