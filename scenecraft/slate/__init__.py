"""SLATE: slot autoencoder that learns objects without text and composes scenes from slots."""
