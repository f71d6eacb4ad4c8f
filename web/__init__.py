"""The HTTP API and Arabic web page (`sanad serve`): a front end over the one pipeline."""
