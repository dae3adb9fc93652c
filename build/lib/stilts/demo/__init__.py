"""The offline demo: a toy English grammar, its corpus and tasks, and a small transfer study."""
