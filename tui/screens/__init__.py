"""The app's screens: each composes its widgets and handles their messages."""
