"""HTTP in: the one httpx client and host resolution."""
