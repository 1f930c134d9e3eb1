"""FRR backend: view model, render, incremental apply through vtysh, status parsing."""
