"""One module per CLI subcommand; `cli` loads each only when it is invoked."""
