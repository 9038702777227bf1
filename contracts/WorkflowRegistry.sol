// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IWorkflowStateVerifier} from "./interfaces/IWorkflowStateVerifier.sol";
import {IWorkflowDefinitionVerifier} from "./interfaces/IWorkflowDefinitionVerifier.sol";
import {IWorkflowRegistry} from "./interfaces/IWorkflowRegistry.sol";
import {IWorkflowVerifier} from "./interfaces/IWorkflowVerifier.sol";

/// @title WorkflowRegistry
/// @notice Records Groth16-proven workflow runs, keyed by their workflow id (the replay nullifier).
/// @dev Admin paths (templates, provider sets, pause) are role-gated; the proof path is open to the
///      address bound in the proof's public signals. A recorded run takes one storage slot (its outcome
///      and traceRoot packed into a word); the rest of the run is in its WorkflowRecorded event.
///      A template is either a circuit's own (IWorkflowVerifier, five public signals) or bound to a
///      user-defined workflow (IWorkflowDefinitionVerifier, the registered definition hash appended as a
///      sixth signal); `submit` takes the same five signals for both.
contract WorkflowRegistry is IWorkflowRegistry, AccessControl, Pausable {
    /// @notice The role allowed to register and (de)activate templates and provider sets.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice The order of BN254's scalar field: every public signal must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint8 public constant OUTCOME_COMMITTED = 1;
    uint8 public constant OUTCOME_ROLLED_BACK = 2;

    uint256 private constant PUBLIC_SIGNAL_COUNT = 5;
    uint256 private constant SIGNAL_WORKFLOW_ID = 0;
    uint256 private constant SIGNAL_OUTCOME = 1;
    uint256 private constant SIGNAL_TRACE_ROOT = 2;
    uint256 private constant SIGNAL_PROVIDER_SET_ROOT = 3;
    uint256 private constant SIGNAL_SUBMITTER = 4;
    uint256 private constant STATE_PUBLIC_SIGNAL_COUNT = 7;
    uint256 private constant SIGNAL_STATE_ROOT_BEFORE = 5;
    uint256 private constant SIGNAL_STATE_ROOT_AFTER = 6;

    /// @dev A recorded run's word keeps its outcome in the top two bits, above the 254-bit traceRoot.
    uint256 private constant OUTCOME_SHIFT = 254;
    uint256 private constant TRACE_ROOT_MASK = (uint256(1) << OUTCOME_SHIFT) - 1;

    enum ProviderSetStatus {
        Unknown,
        Active,
        Revoked
    }

    /// @dev The fields `submit` reads share one slot; only a definition-bound template's submission reads
    ///      the second (its metadataHash, the definition's hash).
    struct TemplateRecord {
        address verifier;
        bool active;
        bool bindsDefinition;
        bool stateful;
        bytes32 metadataHash;
        bytes32 stateDomain;
    }

    mapping(bytes32 templateId => TemplateRecord) private _templates;
    mapping(uint256 root => ProviderSetStatus) private _providerSets;
    /// @dev One slot per recorded run, `_packEntry(traceRoot, outcome)`; zero means not recorded. A new
    ///      slot costs a submission 22.1k gas, so the templateId, submitter, providerSetRoot and block are
    ///      left to the WorkflowRecorded event.
    mapping(uint256 workflowId => uint256 packedEntry) private _entries;
    /// @dev Each state domain's current root; zero means no such domain (a Poseidon root is never zero).
    mapping(bytes32 domainId => uint256 root) private _stateRoots;

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
        _registerTemplate(templateId, verifier, metadataHash, false, false, bytes32(0));
    }

    /// @inheritdoc IWorkflowRegistry
    function registerDefinitionTemplate(
        bytes32 templateId,
        address verifier,
        uint256 definitionHash
    ) external onlyRole(REGISTRAR_ROLE) {
        // A hash at or above the modulus would make every proof fail (the verifier rejects it), and 0 is
        // what an unset hash looks like: neither can name a definition.
        if (definitionHash == 0 || definitionHash >= SNARK_SCALAR_FIELD) {
            revert Registry__InvalidDefinitionHash(templateId, definitionHash);
        }
        _registerTemplate(templateId, verifier, bytes32(definitionHash), true, false, bytes32(0));
    }

    /// @inheritdoc IWorkflowRegistry
    function registerStateTemplate(
        bytes32 templateId,
        address verifier,
        bytes32 metadataHash,
        bytes32 domainId
    ) external onlyRole(REGISTRAR_ROLE) {
        if (_stateRoots[domainId] == 0) revert Registry__UnknownStateDomain(domainId);
        _registerTemplate(templateId, verifier, metadataHash, false, true, domainId);
    }

    // ---------------------------------------------------------------- state domains

    /// @inheritdoc IWorkflowRegistry
    function registerStateDomain(bytes32 domainId, uint256 initialRoot) external onlyRole(REGISTRAR_ROLE) {
        if (domainId == bytes32(0)) revert Registry__ZeroStateDomain();
        if (_stateRoots[domainId] != 0) revert Registry__StateDomainExists(domainId);
        if (initialRoot == 0 || initialRoot >= SNARK_SCALAR_FIELD) {
            revert Registry__InvalidStateRoot(domainId, initialRoot);
        }
        _stateRoots[domainId] = initialRoot;
        emit StateDomainRegistered(domainId, initialRoot);
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
        address verifier;
        bool bindsDefinition;
        {
            TemplateRecord storage template_ = _templates[templateId];
            // The three fields share a slot: read together before any branch, the optimizer loads it once.
            verifier = template_.verifier;
            bool active = template_.active;
            bindsDefinition = template_.bindsDefinition;
            bool stateful = template_.stateful;
            if (verifier == address(0)) revert Registry__UnknownTemplate(templateId);
            if (!active) revert Registry__TemplateInactive(templateId);
            // A state template's runs must move its domain's root: they go through submitWithState.
            if (stateful) revert Registry__TemplateKindMismatch(templateId);
        }

        for (uint256 i = 0; i < PUBLIC_SIGNAL_COUNT; ++i) {
            if (pubSignals[i] >= SNARK_SCALAR_FIELD) revert Registry__InputNotInField(i, pubSignals[i]);
        }

        uint256 workflowId = pubSignals[SIGNAL_WORKFLOW_ID];
        uint256 outcome = pubSignals[SIGNAL_OUTCOME];
        uint256 providerSetRoot = pubSignals[SIGNAL_PROVIDER_SET_ROOT];
        _checkRun(workflowId, outcome, providerSetRoot, pubSignals[SIGNAL_SUBMITTER]);

        bool valid =
            bindsDefinition
                ? _verifyWithDefinition(templateId, verifier, a, b, c, pubSignals)
                : IWorkflowVerifier(verifier).verifyProof(a, b, c, pubSignals);
        if (!valid) revert Registry__InvalidProof(templateId);

        uint256 traceRoot = pubSignals[SIGNAL_TRACE_ROOT];
        _entries[workflowId] = _packEntry(traceRoot, outcome);

        emit WorkflowRecorded(workflowId, templateId, msg.sender, uint8(outcome), traceRoot, providerSetRoot);
    }

    /// @inheritdoc IWorkflowRegistry
    function submitWithState(
        bytes32 templateId,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[7] calldata pubSignals
    ) external whenNotPaused {
        TemplateRecord storage template_ = _templates[templateId];
        address verifier = template_.verifier;
        if (verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        if (!template_.active) revert Registry__TemplateInactive(templateId);
        if (!template_.stateful) revert Registry__TemplateKindMismatch(templateId);
        for (uint256 i = 0; i < STATE_PUBLIC_SIGNAL_COUNT; ++i) {
            if (pubSignals[i] >= SNARK_SCALAR_FIELD) revert Registry__InputNotInField(i, pubSignals[i]);
        }
        _checkRun(
            pubSignals[SIGNAL_WORKFLOW_ID],
            pubSignals[SIGNAL_OUTCOME],
            pubSignals[SIGNAL_PROVIDER_SET_ROOT],
            pubSignals[SIGNAL_SUBMITTER]
        );

        // The proof must start from the domain's current root: a run proven against an older state is stale.
        bytes32 domainId = template_.stateDomain;
        uint256 rootBefore = pubSignals[SIGNAL_STATE_ROOT_BEFORE];
        uint256 current = _stateRoots[domainId];
        if (rootBefore != current) revert Registry__StaleStateRoot(current, rootBefore);
        // Zero is an unregistered domain's root: storing it would unregister the domain (and let anyone
        // with the registrar role register it again from another root). Below the modulus: checked above.
        uint256 rootAfter = pubSignals[SIGNAL_STATE_ROOT_AFTER];
        if (rootAfter == 0) revert Registry__InvalidStateRoot(domainId, rootAfter);
        if (!IWorkflowStateVerifier(verifier).verifyProof(a, b, c, pubSignals)) {
            revert Registry__InvalidProof(templateId);
        }

        uint256 workflowId = pubSignals[SIGNAL_WORKFLOW_ID];
        _stateRoots[domainId] = rootAfter;
        _entries[workflowId] = _packEntry(pubSignals[SIGNAL_TRACE_ROOT], pubSignals[SIGNAL_OUTCOME]);
        emit StateRootAdvanced(domainId, workflowId, rootBefore, rootAfter);
        emit WorkflowRecorded(
            workflowId,
            templateId,
            msg.sender,
            uint8(pubSignals[SIGNAL_OUTCOME]),
            pubSignals[SIGNAL_TRACE_ROOT],
            pubSignals[SIGNAL_PROVIDER_SET_ROOT]
        );
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IWorkflowRegistry
    function templateStateDomain(bytes32 templateId) external view returns (bytes32) {
        TemplateRecord storage record = _templates[templateId];
        if (record.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        return record.stateDomain;
    }

    /// @inheritdoc IWorkflowRegistry
    function currentStateRoot(bytes32 domainId) external view returns (uint256) {
        uint256 root = _stateRoots[domainId];
        if (root == 0) revert Registry__UnknownStateDomain(domainId);
        return root;
    }

    /// @inheritdoc IWorkflowRegistry
    function getEntry(uint256 workflowId) external view returns (Entry memory entry) {
        uint256 packedEntry = _entries[workflowId];
        if (packedEntry == 0) revert Registry__UnknownWorkflow(workflowId);
        (uint8 outcome, uint256 traceRoot) = _unpackEntry(packedEntry);
        entry = Entry({outcome: outcome, traceRoot: traceRoot});
    }

    /// @inheritdoc IWorkflowRegistry
    function isRecorded(uint256 workflowId) external view returns (bool) {
        return _entries[workflowId] != 0;
    }

    /// @inheritdoc IWorkflowRegistry
    function getTemplate(bytes32 templateId) external view returns (Template memory template_) {
        TemplateRecord storage record = _templates[templateId];
        if (record.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        template_ = Template({
            verifier: record.verifier,
            active: record.active,
            metadataHash: record.metadataHash,
            bindsDefinition: record.bindsDefinition
        });
    }

    /// @inheritdoc IWorkflowRegistry
    function isProviderSetActive(uint256 root) external view returns (bool) {
        return _providerSets[root] == ProviderSetStatus.Active;
    }

    // ---------------------------------------------------------------- internals

    /// @dev The checks of a run every kind of template shares: outcome, provider set, submitter, replay.
    function _checkRun(
        uint256 workflowId,
        uint256 outcome,
        uint256 providerSetRoot,
        uint256 boundSubmitter
    ) private view {
        if (outcome != OUTCOME_COMMITTED && outcome != OUTCOME_ROLLED_BACK) {
            revert Registry__InvalidOutcome(outcome);
        }
        ProviderSetStatus providerSetStatus = _providerSets[providerSetRoot];
        if (providerSetStatus == ProviderSetStatus.Unknown)
            revert Registry__UnknownProviderSet(providerSetRoot);
        if (providerSetStatus == ProviderSetStatus.Revoked)
            revert Registry__ProviderSetRevoked(providerSetRoot);
        // Compare as uint256: truncating the signal to an address would accept 2^160 + sender.
        if (boundSubmitter > type(uint160).max) revert Registry__SubmitterOutOfRange(boundSubmitter);
        if (boundSubmitter != uint256(uint160(msg.sender))) {
            revert Registry__SubmitterMismatch(address(uint160(boundSubmitter)), msg.sender);
        }
        // The workflow id is the nullifier: a re-randomised proof of the same run has the same id.
        if (_entries[workflowId] != 0) revert Registry__AlreadyRecorded(workflowId);
    }

    /// @dev Stores a new, active template; shared by the three kinds of registration. The event carries
    ///      the whole record and the verifier's code hash, so the templates can be rebuilt from events.
    function _registerTemplate(
        bytes32 templateId,
        address verifier,
        bytes32 metadataHash,
        bool bindsDefinition,
        bool stateful,
        bytes32 stateDomain
    ) private {
        if (verifier == address(0)) revert Registry__ZeroVerifier(templateId);
        if (verifier.code.length == 0) revert Registry__VerifierHasNoCode(templateId, verifier);
        if (_templates[templateId].verifier != address(0)) {
            revert Registry__TemplateAlreadyRegistered(templateId);
        }
        _templates[templateId] = TemplateRecord({
            verifier: verifier,
            active: true,
            bindsDefinition: bindsDefinition,
            stateful: stateful,
            metadataHash: metadataHash,
            stateDomain: stateDomain
        });
        emit TemplateRegistered(
            templateId,
            verifier,
            metadataHash,
            bindsDefinition,
            stateful,
            stateDomain,
            verifier.codehash
        );
    }

    /// @dev Checks a definition-bound template's proof: the submitted five signals, then the template's
    ///      definition hash (its metadataHash, checked below the modulus at registration) as the sixth.
    function _verifyWithDefinition(
        bytes32 templateId,
        address verifier,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[5] calldata pubSignals
    ) private view returns (bool) {
        uint256 definitionHash = uint256(_templates[templateId].metadataHash);
        uint256[6] memory signals = [
            pubSignals[SIGNAL_WORKFLOW_ID],
            pubSignals[SIGNAL_OUTCOME],
            pubSignals[SIGNAL_TRACE_ROOT],
            pubSignals[SIGNAL_PROVIDER_SET_ROOT],
            pubSignals[SIGNAL_SUBMITTER],
            definitionHash
        ];
        return IWorkflowDefinitionVerifier(verifier).verifyProof(a, b, c, signals);
    }

    // ---------------------------------------------------------------- entry packing

    /// @dev Packs a run into one word: `traceRoot | (outcome << 254)`. Sound because `submit` packs only
    ///      a traceRoot already checked to be below the field modulus p < 2^254, so it fits in the low 254
    ///      bits and never reaches the outcome's two bits; and an outcome already checked to be 1 or 2,
    ///      which fits in those two bits and is non-zero, so a recorded run's word is never 0 (the
    ///      replay check's "not recorded").
    function _packEntry(uint256 traceRoot, uint256 outcome) internal pure returns (uint256) {
        return traceRoot | (outcome << OUTCOME_SHIFT);
    }

    /// @dev Inverts `_packEntry`: the top two bits are the outcome, the low 254 bits the traceRoot.
    function _unpackEntry(uint256 packedEntry) internal pure returns (uint8 outcome, uint256 traceRoot) {
        outcome = uint8(packedEntry >> OUTCOME_SHIFT);
        traceRoot = packedEntry & TRACE_ROOT_MASK;
    }
}
