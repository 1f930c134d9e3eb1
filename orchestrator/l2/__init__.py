"""Layer-2 wire adapter: AF_PACKET sockets, BPF filters, frame templates."""
