"""Running a study's stages on a cluster: :mod:`darkscan.hpc.slurm` (Slurm job arrays)."""

__all__: list[str] = []
