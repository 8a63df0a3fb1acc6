"""The project's foundations: errors, registries, paths, params, files written atomically, devices and precision."""
