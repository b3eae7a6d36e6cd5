"""The batch: plan jobs, run them in worker processes, keep the state store, show progress."""
