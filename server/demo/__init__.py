"""Demo data for trying the product: `whistle-server seed-demo`."""
