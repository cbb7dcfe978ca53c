"`python -m prunedm ...` (so `accelerate launch -m prunedm ...`) runs the `prunedm` command line."
# Not exported from a notebook: nbdev writes modules, not a package's `__main__`.
from prunedm.cli import main

if __name__ == '__main__': main()
