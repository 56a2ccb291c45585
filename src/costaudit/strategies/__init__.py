"""Ways to spend fewer tokens, each simulated over history or run live."""
