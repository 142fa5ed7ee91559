"""In-site notifications: rebuttals, marks, hides, phase changes and flags awaiting faculty."""
