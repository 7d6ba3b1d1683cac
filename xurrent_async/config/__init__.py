"""The settings: `keys` declares every one as data, `settings` parses a configuration into `Settings`."""
