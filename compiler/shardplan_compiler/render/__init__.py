"""Renderers: the last step of every command, turning findings into text for one audience."""
