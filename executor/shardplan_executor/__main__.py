"""`python -m shardplan_executor PLAN --handler NAME ...`: the same command as `shardplan run`."""

from shardplan_executor.cli import run

if __name__ == "__main__":
    run(prog_name="python -m shardplan_executor")
