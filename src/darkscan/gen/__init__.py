"""Event generation: embedded Pythia 8 with a fast detector, containers and Slurm for MadGraph/Delphes."""
