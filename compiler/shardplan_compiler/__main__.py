from shardplan_compiler.cli import main

main()
