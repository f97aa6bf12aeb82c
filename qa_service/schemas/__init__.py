"""The wire format, written once, one module per resource and a common one for what they
share: requests are checked and documented from these."""
