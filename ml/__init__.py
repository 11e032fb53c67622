"""Balladeer's machine-learning half: recurrent models for lyrics and piano music."""
