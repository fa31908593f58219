"""The utility's rules and records: no Rasa, no HTTP (testable without either)."""
