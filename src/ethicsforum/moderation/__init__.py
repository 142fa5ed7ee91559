"""Moderation: flags, hiding, exemplary marks, private feedback and the audit log."""
