"""Chinese language helpers: input normalisation, entity patterns, month expressions, Rasa components."""
