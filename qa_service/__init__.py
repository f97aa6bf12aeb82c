"""The QA log service: application service, HTTP API, command line."""
