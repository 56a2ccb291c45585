"""The ``costaudit`` command line."""
