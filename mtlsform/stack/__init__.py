"""The stack language: YAML with positions, schema, variables, semantic checks, the model."""
