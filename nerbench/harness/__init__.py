"""The common runner: suite files, worker processes, the results store, cost, the gate."""
