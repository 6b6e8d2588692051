"""F Remote control: remote start/stop, unlock, (extended) trigger message (1.6 §5; 2.0.1 F)."""
