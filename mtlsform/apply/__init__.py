"""Apply: turn a plan into operations (operations.py), walk them concurrently (walker.py),
carry each one out through the resource types (executor.py), and keep the state in step with one
writer (statewriter.py)."""
