"""Plans: the changes that would make the cloud match a stack, as data, and their renderings."""
