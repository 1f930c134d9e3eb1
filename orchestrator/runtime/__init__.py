"""Runtime: controller and speaker loops around the pure core."""
