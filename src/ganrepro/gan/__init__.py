"""The GAN mechanisms, one unit each (losses, penalties, architectures, extensions, optimisers,
trainers), and the training loop."""
