"""Grid work: what a grid worker does with a task (its sheet, a home's roster, the result)."""
