from stilts.rank.cli import main

main()
