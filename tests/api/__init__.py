"""The API as a client meets it, across every layer, in both profiles."""
