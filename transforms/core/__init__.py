"""The stage abstraction, run accounting, progress, atomic files and text repair."""
