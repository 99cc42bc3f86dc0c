"""The network: a polite, bounded HTTP client, feeds over HTTP, full-text pages."""
