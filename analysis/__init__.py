"""Analysis on the blueprint: site vetting, environmental capacity, quota ledger."""
