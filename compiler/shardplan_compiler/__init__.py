"""shardplan's compiler: YAML loading with positions, validation, sharding, plans, the CLI."""
