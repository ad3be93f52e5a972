"""The floor every other layer stands on: scene and job contract types, errors, settings,
progress reports and box geometry. Imports nothing else from scenecraft."""
