// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title TraceAnchor
 * @notice Public, append-only registry of Merkle roots of supply-chain record batches.
 *
 * Each root commits to a batch of record hashes (an OpenZeppelin StandardMerkleTree). Only accounts
 * holding {ANCHORER_ROLE} may anchor; the block timestamp of anchoring is kept so that anyone can
 * prove a record existed no later than that time, with a plain `eth_call` to {verifyInclusion}.
 *
 * Storage is one slot per root (its anchoring timestamp); the leaf count lives only in the
 * {Anchored} event, since nothing on-chain needs it.
 */
contract TraceAnchor is AccessControl {
    /// @notice Role allowed to call {anchor}; administered by `DEFAULT_ADMIN_ROLE`.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    mapping(bytes32 root => uint64 timestamp) private _anchoredAt;

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

    /// @notice The zero address cannot administer the contract (it would be locked forever).
    /// @param admin The rejected admin address.
    error InvalidAdmin(address admin);

    /**
     * @notice Makes `initialAdmin` the admin and also an anchorer, so a single operator account
     * can run the service out of the box; it can grant {ANCHORER_ROLE} to a hot key and renounce
     * its own later.
     * @param initialAdmin Holder of `DEFAULT_ADMIN_ROLE` and {ANCHORER_ROLE}.
     */
    constructor(address initialAdmin) {
        if (initialAdmin == address(0)) revert InvalidAdmin(initialAdmin);
        _grantRole(DEFAULT_ADMIN_ROLE, initialAdmin);
        _grantRole(ANCHORER_ROLE, initialAdmin);
    }

    /**
     * @notice Anchors `root` at the current block timestamp.
     * @dev Reverts with {ZeroRoot}, {EmptyBatch}, {RootAlreadyAnchored}, or
     * `AccessControlUnauthorizedAccount` when the caller lacks {ANCHORER_ROLE}.
     * @param root Merkle root of the batch.
     * @param leafCount Number of records in the batch (at least 1).
     */
    function anchor(bytes32 root, uint32 leafCount) external onlyRole(ANCHORER_ROLE) {
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert EmptyBatch(root);
        uint64 existing = _anchoredAt[root];
        if (existing != 0) revert RootAlreadyAnchored(root, existing);

        _anchoredAt[root] = uint64(block.timestamp);

        emit Anchored(root, leafCount, _msgSender());
    }

    /**
     * @notice When `root` was anchored.
     * @param root Merkle root to look up.
     * @return Block timestamp of the anchoring, or 0 if `root` was never anchored.
     */
    function anchoredAt(bytes32 root) external view returns (uint64) {
        return _anchoredAt[root];
    }

    /**
     * @notice Whether `leaf` belongs to the tree of the anchored `root`.
     * @dev Uses OpenZeppelin `MerkleProof` (sorted-pair keccak256, as StandardMerkleTree builds).
     * `leaf` is the leaf node hash itself: callers must derive it from the record they hold, since
     * an inner node of the tree, given with a shorter proof, also verifies.
     * @param root Merkle root of the batch.
     * @param leaf Leaf node hash of the record.
     * @param proof Sibling hashes from the leaf up to the root.
     * @return True only if `root` is anchored and `proof` links `leaf` to it.
     */
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _anchoredAt[root] != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
