"""Faults end to end through the real `shardplan` CLI: kills, full or read-only disks, torn writes."""
