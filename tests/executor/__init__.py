"""Tests of the thin executor (`shardplan run`), independent of the compiler."""
