"""The shipped prompts (Markdown with front matter), installed as package data."""
