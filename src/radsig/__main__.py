from radsig.cli.main import main

main()
