// Replaced by the LegateAuth tests.
