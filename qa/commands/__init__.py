"""One module per `sanad` subcommand; each has `register(subparsers)`."""
