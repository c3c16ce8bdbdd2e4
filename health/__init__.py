"""What operators and load balancers ask the product about itself: readiness, heartbeats."""
