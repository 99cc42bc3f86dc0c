"""Readers: article files, WARC archives and feed documents to raw records."""
