"""The fast layer: the rules and use cases through fakes at their ports (`make test-fast`, `-m fast`)."""
