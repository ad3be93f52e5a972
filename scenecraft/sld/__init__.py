"""SLD: generate, detect what the image got wrong against the prompt, repair it in latent space."""
