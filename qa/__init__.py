"""Question answering: readers, the retrieve-read-select pipeline, evaluation and the `sanad` CLI."""
