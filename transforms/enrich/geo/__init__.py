"""Places: the gazetteer and the resolution of place mentions."""
