"""The thin executor: replays a verified shard plan and nothing else.

It depends on `shardplan_schemas` only (never on the compiler), so a Dask
worker needs nothing but the schemas and the handler's package.
"""
