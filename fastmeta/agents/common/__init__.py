"""The toolkit every learner shares: run loop, checkpoints, logging, config layering, devices, precision and data-parallel training."""
