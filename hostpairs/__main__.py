"""`python -m hostpairs` runs the command line."""

from hostpairs.cli import main

main()
