"""The case library: cases, their versions, the case file format and search."""
