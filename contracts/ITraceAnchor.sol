// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title ITraceAnchor
 * @notice What third parties need of a TraceAnchor registry: its event, its errors and its views.
 *
 * A root commits to a batch of records as an OpenZeppelin StandardMerkleTree. Records of the
 * current releases have salted leaves, encoded `["bytes32","bytes32"]` as `[contentHash, salt]`;
 * older batches have unsalted `["bytes32"]` leaves of the content hash alone.
 */
interface ITraceAnchor {
    /**
     * @notice Emitted once per root when it is anchored.
     * @param root Merkle root of the batch.
     * @param leafCount Number of records committed to by `root`.
     * @param anchorer Account that anchored the root.
     */
    event Anchored(bytes32 indexed root, uint32 leafCount, address indexed anchorer);

    /// @notice The zero root commits to nothing and is what an unset mapping slot reads as.
    error ZeroRoot();

    /// @notice A batch must commit to at least one record.
    /// @param root The root submitted with a zero leaf count.
    error EmptyBatch(bytes32 root);

    /// @notice Roots are anchored once; the first timestamp is the one that counts.
    /// @param root The root submitted again.
    /// @param anchoredAt Block timestamp of its first anchoring.
    error RootAlreadyAnchored(bytes32 root, uint64 anchoredAt);

    /**
     * @notice When `root` was anchored.
     * @param root Merkle root to look up.
     * @return Block timestamp of the anchoring, or 0 if `root` was never anchored.
     */
    function anchoredAt(bytes32 root) external view returns (uint64);

    /**
     * @notice Whether `leaf` belongs to the tree of the anchored `root`.
     * @dev `leaf` is the leaf node hash itself, so an inner node of the tree, given with a shorter
     * proof, also verifies: callers must derive the leaf from the record they hold, or use
     * {verifyRecord}, which derives it on chain.
     * @param root Merkle root of the batch.
     * @param leaf Leaf node hash of the record.
     * @param proof Sibling hashes from the leaf up to the root.
     * @return True only if `root` is anchored and `proof` links `leaf` to it.
     */
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /**
     * @notice Whether the record with `contentHash` and `salt` belongs to the anchored `root`.
     * @dev Derives the salted StandardMerkleTree leaf on chain,
     * `keccak256(bytes.concat(keccak256(abi.encode(contentHash, salt))))`, so no inner node can
     * pass for a record.
     * @param root Merkle root of the batch.
     * @param contentHash Content hash of the record.
     * @param salt The record's salt (kept private by the parties it is shared with).
     * @param proof Sibling hashes from the leaf up to the root.
     * @return True only if `root` is anchored and `proof` links the record's leaf to it.
     */
    function verifyRecord(bytes32 root, bytes32 contentHash, bytes32 salt, bytes32[] calldata proof)
        external
        view
        returns (bool);
}
