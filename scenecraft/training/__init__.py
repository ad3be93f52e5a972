"""Training, export and model cards of the world model: code that runs to make shipped weights,
never on a job's path. Runtime pieces (the UNet architecture, sampling) stay in ``models/``."""
