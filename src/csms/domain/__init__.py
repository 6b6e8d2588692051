"""Version-neutral domain: the model 1.6, 2.0.1 and 2.1 share, the ports storage and the gateway
implement, and the domain exception tree. Standard library only."""
