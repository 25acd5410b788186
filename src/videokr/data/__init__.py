"""The data layer: reading, validating, probing and converting the VideoKR corpus."""
