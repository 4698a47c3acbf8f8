# tests/security: the security properties, each a test of its own
