// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IWorkflowRegistry} from "./interfaces/IWorkflowRegistry.sol";
import {IWorkflowVerifier} from "./interfaces/IWorkflowVerifier.sol";

/// @title WorkflowRegistry
/// @notice Records Groth16-proven workflow runs, keyed by their workflow id (the replay nullifier).
/// @dev Admin paths (templates, provider sets, pause) are role-gated; the proof path is open to the
///      address bound in the proof's public signals. A recorded run takes three storage slots.
contract WorkflowRegistry is IWorkflowRegistry, AccessControl, Pausable {
    /// @notice The role allowed to register and (de)activate templates and provider sets.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice The order of BN254's scalar field: every public signal must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint8 public constant OUTCOME_COMMITTED = 1;
    uint8 public constant OUTCOME_ROLLED_BACK = 2;

    /// @notice The most templates the registry holds: entries refer to their template by a 16-bit index.
    uint256 public constant MAX_TEMPLATES = uint256(type(uint16).max) + 1;

    uint256 private constant PUBLIC_SIGNAL_COUNT = 5;
    uint256 private constant SIGNAL_WORKFLOW_ID = 0;
    uint256 private constant SIGNAL_OUTCOME = 1;
    uint256 private constant SIGNAL_TRACE_ROOT = 2;
    uint256 private constant SIGNAL_PROVIDER_SET_ROOT = 3;
    uint256 private constant SIGNAL_SUBMITTER = 4;

    enum ProviderSetStatus {
        Unknown,
        Active,
        Revoked
    }

    /// @dev The fields `submit` reads share one slot.
    struct TemplateRecord {
        address verifier;
        bool active;
        uint16 index;
        bytes32 metadataHash;
    }

    /// @dev Three slots: traceRoot; providerSetRoot; submitter, outcome, template index, block number
    ///      and timestamp packed together (a uint32 timestamp lasts until 2106). A non-zero outcome marks
    ///      the entry as recorded. Each slot costs a submission 20-22k gas.
    struct EntryRecord {
        uint256 traceRoot;
        uint256 providerSetRoot;
        address submitter;
        uint8 outcome;
        uint16 templateIndex;
        uint40 blockNumber;
        uint32 timestamp;
    }

    mapping(bytes32 templateId => TemplateRecord) private _templates;
    bytes32[] private _templateIds;
    mapping(uint256 root => ProviderSetStatus) private _providerSets;
    mapping(uint256 workflowId => EntryRecord) private _entries;

    /// @param admin Receives DEFAULT_ADMIN_ROLE and REGISTRAR_ROLE.
    constructor(address admin) {
        if (admin == address(0)) revert Registry__ZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
    }

    // ---------------------------------------------------------------- templates

    /// @inheritdoc IWorkflowRegistry
    function registerTemplate(
        bytes32 templateId,
        address verifier,
        bytes32 metadataHash
    ) external onlyRole(REGISTRAR_ROLE) {
        if (verifier == address(0)) revert Registry__ZeroVerifier(templateId);
        if (_templates[templateId].verifier != address(0)) {
            revert Registry__TemplateAlreadyRegistered(templateId);
        }
        uint256 index = _templateIds.length;
        if (index >= MAX_TEMPLATES) revert Registry__TemplateLimitReached(MAX_TEMPLATES);

        _templateIds.push(templateId);
        _templates[templateId] = TemplateRecord({
            verifier: verifier,
            active: true,
            index: uint16(index),
            metadataHash: metadataHash
        });
        emit TemplateRegistered(templateId, verifier, metadataHash);
    }

    /// @inheritdoc IWorkflowRegistry
    function setTemplateActive(bytes32 templateId, bool active) external onlyRole(REGISTRAR_ROLE) {
        TemplateRecord storage template_ = _templates[templateId];
        if (template_.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        template_.active = active;
        emit TemplateActiveSet(templateId, active);
    }

    // ---------------------------------------------------------------- provider sets

    /// @inheritdoc IWorkflowRegistry
    function registerProviderSet(
        uint256 root,
        Provider[] calldata providers
    ) external onlyRole(REGISTRAR_ROLE) {
        if (root == 0 || root >= SNARK_SCALAR_FIELD) revert Registry__InvalidProviderSetRoot(root);
        if (_providerSets[root] != ProviderSetStatus.Unknown) {
            revert Registry__ProviderSetAlreadyRegistered(root);
        }
        if (providers.length == 0) revert Registry__EmptyProviderSet(root);
        for (uint256 i = 0; i < providers.length; ++i) {
            Provider calldata provider = providers[i];
            if (
                provider.systemCode >= SNARK_SCALAR_FIELD ||
                provider.pubKeyX >= SNARK_SCALAR_FIELD ||
                provider.pubKeyY >= SNARK_SCALAR_FIELD
            ) {
                revert Registry__ProviderNotInField(root, i);
            }
        }

        _providerSets[root] = ProviderSetStatus.Active;
        emit ProviderSetRegistered(root, providers);
    }

    /// @inheritdoc IWorkflowRegistry
    function revokeProviderSet(uint256 root) external onlyRole(REGISTRAR_ROLE) {
        ProviderSetStatus status = _providerSets[root];
        if (status == ProviderSetStatus.Unknown) revert Registry__UnknownProviderSet(root);
        if (status == ProviderSetStatus.Revoked) revert Registry__ProviderSetRevoked(root);
        _providerSets[root] = ProviderSetStatus.Revoked;
        emit ProviderSetRevoked(root);
    }

    // ---------------------------------------------------------------- pause

    /// @inheritdoc IWorkflowRegistry
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @inheritdoc IWorkflowRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- runs

    /// @inheritdoc IWorkflowRegistry
    function submit(
        bytes32 templateId,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[5] calldata pubSignals
    ) external whenNotPaused {
        TemplateRecord storage template_ = _templates[templateId];
        address verifier = template_.verifier;
        if (verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        if (!template_.active) revert Registry__TemplateInactive(templateId);

        for (uint256 i = 0; i < PUBLIC_SIGNAL_COUNT; ++i) {
            if (pubSignals[i] >= SNARK_SCALAR_FIELD) revert Registry__InputNotInField(i, pubSignals[i]);
        }

        uint256 outcome = pubSignals[SIGNAL_OUTCOME];
        if (outcome != OUTCOME_COMMITTED && outcome != OUTCOME_ROLLED_BACK) {
            revert Registry__InvalidOutcome(outcome);
        }

        uint256 providerSetRoot = pubSignals[SIGNAL_PROVIDER_SET_ROOT];
        ProviderSetStatus providerSetStatus = _providerSets[providerSetRoot];
        if (providerSetStatus == ProviderSetStatus.Unknown)
            revert Registry__UnknownProviderSet(providerSetRoot);
        if (providerSetStatus == ProviderSetStatus.Revoked)
            revert Registry__ProviderSetRevoked(providerSetRoot);

        // Compare as uint256: truncating the signal to an address would accept 2^160 + sender.
        uint256 boundSubmitter = pubSignals[SIGNAL_SUBMITTER];
        if (boundSubmitter > type(uint160).max) revert Registry__SubmitterOutOfRange(boundSubmitter);
        if (boundSubmitter != uint256(uint160(msg.sender))) {
            revert Registry__SubmitterMismatch(address(uint160(boundSubmitter)), msg.sender);
        }

        // The workflow id is the nullifier: a re-randomised proof of the same run has the same id.
        uint256 workflowId = pubSignals[SIGNAL_WORKFLOW_ID];
        EntryRecord storage entry = _entries[workflowId];
        if (entry.outcome != 0) revert Registry__AlreadyRecorded(workflowId);

        if (!IWorkflowVerifier(verifier).verifyProof(a, b, c, pubSignals)) {
            revert Registry__InvalidProof(templateId);
        }

        uint256 traceRoot = pubSignals[SIGNAL_TRACE_ROOT];
        entry.traceRoot = traceRoot;
        entry.providerSetRoot = providerSetRoot;
        entry.submitter = msg.sender;
        entry.outcome = uint8(outcome);
        entry.templateIndex = template_.index;
        entry.blockNumber = uint40(block.number);
        entry.timestamp = uint32(block.timestamp);

        emit WorkflowRecorded(workflowId, templateId, msg.sender, uint8(outcome), traceRoot, providerSetRoot);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IWorkflowRegistry
    function getEntry(uint256 workflowId) external view returns (Entry memory entry) {
        EntryRecord storage record = _entries[workflowId];
        if (record.outcome == 0) revert Registry__UnknownWorkflow(workflowId);
        entry = Entry({
            templateId: _templateIds[record.templateIndex],
            outcome: record.outcome,
            traceRoot: record.traceRoot,
            providerSetRoot: record.providerSetRoot,
            submitter: record.submitter,
            blockNumber: record.blockNumber,
            timestamp: record.timestamp
        });
    }

    /// @inheritdoc IWorkflowRegistry
    function isRecorded(uint256 workflowId) external view returns (bool) {
        return _entries[workflowId].outcome != 0;
    }

    /// @inheritdoc IWorkflowRegistry
    function getTemplate(bytes32 templateId) external view returns (Template memory template_) {
        TemplateRecord storage record = _templates[templateId];
        if (record.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        template_ = Template({
            verifier: record.verifier,
            active: record.active,
            metadataHash: record.metadataHash
        });
    }

    /// @inheritdoc IWorkflowRegistry
    function isProviderSetActive(uint256 root) external view returns (bool) {
        return _providerSets[root] == ProviderSetStatus.Active;
    }
}
