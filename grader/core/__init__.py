"""Core: what every layer shares and nothing above it changes: the assignment spec, results,
errors, the verdict rules, the stored class, the course's language. Imports no kernel stack."""
