"""Drop-in replacements for the original projects' env interfaces."""
