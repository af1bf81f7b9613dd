"""`shardplan import rentl`: a rentl project's `rentl.toml` as a shardplan spec (DESIGN §9).

The modules follow the pipeline of the import: `toml_positions` finds where
each table and key sits (tomllib gives no positions), `config` is rentl
0.1.8's configuration as rentl reads it, `findings` reports what rentl would
reject and what it would silently get wrong, `spec_render` writes the spec
from its template, and `importer` wires them to a file.
"""
