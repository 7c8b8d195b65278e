"""traceanchor: supply-chain records hashed, batched into Merkle trees and anchored on Ethereum."""
