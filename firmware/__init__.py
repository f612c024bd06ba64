"""What gets flashed: SoC tops wiring the rtl cores to the host link; board platforms; builds."""
