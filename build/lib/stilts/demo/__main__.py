"""`python -m stilts.demo`: see stilts.demo.run."""

from stilts.demo.run import main

main()
