"""The ``darkscan`` command: one typer group per stage, thin shells over library functions."""
