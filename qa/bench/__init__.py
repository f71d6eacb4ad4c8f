"""Benchmarks behind `sanad bench`: retrieval, reader and end-to-end figures on a synthetic Arabic corpus."""
