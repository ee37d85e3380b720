print("signet-fleet-bench: not written yet")
