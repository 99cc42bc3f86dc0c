"""From raw records to article records: main text, dates, URLs, normalisation."""
