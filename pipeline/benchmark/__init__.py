"""`streetwatch bench`: detector overhead, stage costs, camera density, alert latency."""
