"""What gets flashed: SoC tops that wire the rtl cores to the host link, board platforms, build and program."""
