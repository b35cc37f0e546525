"""Cases: the hazard report as it moves through the closed loop, its timeline, its photos."""
