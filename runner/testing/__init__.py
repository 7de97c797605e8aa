"""What runner ships for testing itself and its users' set-ups: the GitHub emulator."""
