"""The virtual web (many hostnames on one loopback server) and the bundled demo sites."""
