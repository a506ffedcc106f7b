from darkscan.cli.main import main

main()
