from cohortstat.cli import main

main()
