"""ethicsforum: structured, framework-tagged debate on clinical ethics cases."""

__version__ = "0.1.0"
