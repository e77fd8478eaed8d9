"""Tests of the resource types: their diff and drift decisions, as data cases."""
