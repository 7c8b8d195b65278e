// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ITraceAnchor} from "./ITraceAnchor.sol";

/**
 * @title TraceAnchor
 * @notice Public, append-only registry of Merkle roots of supply-chain record batches.
 *
 * Each root commits to a batch of record hashes (an OpenZeppelin StandardMerkleTree). Only accounts
 * holding {ANCHORER_ROLE} may anchor; the block timestamp of anchoring is kept so that anyone can
 * prove a record existed no later than that time, with a plain `eth_call` to {verifyRecord}.
 *
 * The admin, who grants and revokes {ANCHORER_ROLE}, is one account at a time, handed over in two
 * steps with a delay (OpenZeppelin {AccessControlDefaultAdminRules}): a stolen admin key cannot take
 * the registry over before the current admin sees the transfer and cancels it.
 *
 * Storage is one slot per root (its anchoring timestamp); the leaf count lives only in the
 * {Anchored} event, since nothing on-chain needs it.
 */
contract TraceAnchor is ITraceAnchor, AccessControlDefaultAdminRules {
    /// @notice Role allowed to call {anchor}; granted and revoked by the admin. Anchoring keys are
    /// hot (the service signs with them unattended): rotate them by granting the new key and
    /// revoking the old one, and keep the admin key off the service's machine.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    mapping(bytes32 root => uint64 timestamp) private _anchoredAt;

    /**
     * @notice Makes `initialAdmin` the admin and also an anchorer, so a single operator account
     * can run the service out of the box; it can grant {ANCHORER_ROLE} to a hot key and renounce
     * its own later.
     * @dev Reverts with `AccessControlInvalidDefaultAdmin` for the zero address.
     * @param initialAdminDelay Seconds between scheduling an admin transfer and its acceptance.
     * @param initialAdmin Holder of `DEFAULT_ADMIN_ROLE` and {ANCHORER_ROLE}.
     */
    constructor(uint48 initialAdminDelay, address initialAdmin)
        AccessControlDefaultAdminRules(initialAdminDelay, initialAdmin)
    {
        _grantRole(ANCHORER_ROLE, initialAdmin);
    }

    /**
     * @notice Anchors `root` at the current block timestamp.
     * @dev Reverts with {ZeroRoot}, {EmptyBatch}, {RootAlreadyAnchored}, or
     * `AccessControlUnauthorizedAccount` when the caller lacks {ANCHORER_ROLE}. Emits {Anchored}.
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

    /// @inheritdoc ITraceAnchor
    function anchoredAt(bytes32 root) external view returns (uint64) {
        return _anchoredAt[root];
    }

    /// @inheritdoc ITraceAnchor
    /// @dev Uses OpenZeppelin `MerkleProof` (sorted-pair keccak256, as StandardMerkleTree builds).
    function verifyInclusion(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _anchoredAt[root] != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc ITraceAnchor
    function verifyRecord(bytes32 root, bytes32 contentHash, bytes32 salt, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(contentHash, salt))));
        return _anchoredAt[root] != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @notice Also answers true for {ITraceAnchor}.
    /// @param interfaceId ERC-165 interface identifier.
    /// @return Whether the contract implements `interfaceId`.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ITraceAnchor).interfaceId || super.supportsInterface(interfaceId);
    }
}
