"""The domain core: keys, customers, clock, profiles and rules. No web imports."""
