"""The ``bandmate`` command line: one Typer app that maps commands to the API, one error wrapper."""
