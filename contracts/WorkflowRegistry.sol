// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {Groth16Proof} from "./interfaces/Groth16Proof.sol";
import {IWorkflowBatchVerifier} from "./interfaces/IWorkflowBatchVerifier.sol";
import {IWorkflowDefinitionBatchVerifier} from "./interfaces/IWorkflowDefinitionBatchVerifier.sol";
import {IWorkflowStateBatchVerifier} from "./interfaces/IWorkflowStateBatchVerifier.sol";
import {IWorkflowStateVerifier} from "./interfaces/IWorkflowStateVerifier.sol";
import {IWorkflowDefinitionVerifier} from "./interfaces/IWorkflowDefinitionVerifier.sol";
import {IWorkflowRegistry} from "./interfaces/IWorkflowRegistry.sol";
import {IWorkflowVerifier} from "./interfaces/IWorkflowVerifier.sol";

/// @title WorkflowRegistry
/// @notice Records Groth16-proven workflow runs, keyed by their workflow id (the replay nullifier).
/// @dev Admin paths (templates, provider sets, pause) are role-gated; the proof path is open to the
///      address bound in the proof's public signals. A recorded run takes one storage slot (its outcome
///      and traceRoot packed into a word); the rest of the run is in its WorkflowRecorded event.
///      A template is either a circuit's own (IWorkflowVerifier, four public signals) or bound to a
///      user-defined workflow (IWorkflowDefinitionVerifier, the registered definition hash appended as a
///      fifth signal); `submit` takes the same four signals for both. A template may also have a batch
///      verifier (generated at setup from the same verification key): `submitBatch` and
///      `submitBatchWithState` record up to MAX_BATCH_SIZE runs of one template in one transaction, each
///      run checked, stored and announced exactly as its single submission would be.
contract WorkflowRegistry is IWorkflowRegistry, AccessControl, Pausable {
    /// @notice The role allowed to register and (de)activate templates and provider sets.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice The order of BN254's scalar field: every public signal must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice The most runs one submitBatch or submitBatchWithState records.
    uint256 public constant MAX_BATCH_SIZE = 32;

    uint8 public constant OUTCOME_COMMITTED = 1;
    uint8 public constant OUTCOME_ROLLED_BACK = 2;

    /// @dev A run's public signals: runClaim = submitter + outcome * 2^160 (the circuit's output,
    ///      range-checked there: a 160-bit submitter, outcome 1 or 2), workflowId, traceRoot,
    ///      providerSetRoot; a state run's then stateRootBefore, stateRootAfter.
    uint256 private constant PUBLIC_SIGNAL_COUNT = 4;
    uint256 private constant SIGNAL_RUN_CLAIM = 0;
    uint256 private constant SIGNAL_WORKFLOW_ID = 1;
    uint256 private constant SIGNAL_TRACE_ROOT = 2;
    uint256 private constant SIGNAL_PROVIDER_SET_ROOT = 3;
    uint256 private constant STATE_PUBLIC_SIGNAL_COUNT = 6;
    uint256 private constant SIGNAL_STATE_ROOT_BEFORE = 4;
    uint256 private constant SIGNAL_STATE_ROOT_AFTER = 5;
    /// @dev runClaim's low 160 bits are the submitter, the bits above them the outcome.
    uint256 private constant CLAIM_OUTCOME_SHIFT = 160;

    /// @dev The run index the checks take for a single submission: their errors are raised as they are.
    uint256 private constant SINGLE_RUN = type(uint256).max;

    /// @dev A recorded run's word keeps its outcome in the top two bits, above the 254-bit traceRoot.
    uint256 private constant OUTCOME_SHIFT = 254;
    uint256 private constant TRACE_ROOT_MASK = (uint256(1) << OUTCOME_SHIFT) - 1;

    enum ProviderSetStatus {
        Unknown,
        Active,
        Revoked
    }

    /// @dev The fields `submit` and `submitWithState` read share one slot, the pause flag and a state
    ///      template's domain among them (by its index: a state run then reads the domain's root by that
    ///      index, not by the domain's id); only a definition-bound template's submission reads the second
    ///      (its metadataHash, the definition's hash), only a batch the fourth. `stateDomain` (the domain's
    ///      id) is for views, events and errors.
    struct TemplateRecord {
        address verifier;
        bool active;
        bool bindsDefinition;
        bool stateful;
        uint64 domainIndex;
        bool paused;
        bytes32 metadataHash;
        bytes32 stateDomain;
        address batchVerifier;
    }

    mapping(bytes32 templateId => TemplateRecord) private _templates;
    mapping(uint256 root => ProviderSetStatus) private _providerSets;
    /// @dev One slot per recorded run, `_packEntry(traceRoot, outcome)`; zero means not recorded. A new
    ///      slot costs a submission 22.1k gas, so the templateId, submitter, providerSetRoot and block are
    ///      left to the WorkflowRecorded event.
    mapping(uint256 workflowId => uint256 packedEntry) private _entries;
    /// @dev Each state domain's index (1, 2, ... in the order of registration); zero means no such domain.
    mapping(bytes32 domainId => uint64 index) private _domainIndices;
    /// @dev Each state domain's current root, by the domain's index (never zero: a Poseidon root is not).
    mapping(uint64 index => uint256 root) private _stateRoots;
    /// @dev How many state domains are registered: the last one's index.
    uint64 private _domainCount;
    /// @dev Every registered template's id, in the order of registration: `pause` and `unpause` set each
    ///      one's `paused` flag (beside Pausable's own), which a submission reads in the template's first
    ///      slot instead of a slot of its own (2.1k gas a transaction). Their cost grows with the number of
    ///      templates (~5k gas each), an admin's, never a submitter's.
    bytes32[] private _templateIds;

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
        _registerTemplate(templateId, verifier, metadataHash, false, false, bytes32(0), 0);
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
        _registerTemplate(templateId, verifier, bytes32(definitionHash), true, false, bytes32(0), 0);
    }

    /// @inheritdoc IWorkflowRegistry
    function registerStateTemplate(
        bytes32 templateId,
        address verifier,
        bytes32 metadataHash,
        bytes32 domainId
    ) external onlyRole(REGISTRAR_ROLE) {
        uint64 domainIndex = _domainIndices[domainId];
        if (domainIndex == 0) revert Registry__UnknownStateDomain(domainId);
        _registerTemplate(templateId, verifier, metadataHash, false, true, domainId, domainIndex);
    }

    // ---------------------------------------------------------------- state domains

    /// @inheritdoc IWorkflowRegistry
    function registerStateDomain(bytes32 domainId, uint256 initialRoot) external onlyRole(REGISTRAR_ROLE) {
        if (domainId == bytes32(0)) revert Registry__ZeroStateDomain();
        if (_domainIndices[domainId] != 0) revert Registry__StateDomainExists(domainId);
        if (initialRoot == 0 || initialRoot >= SNARK_SCALAR_FIELD) {
            revert Registry__InvalidStateRoot(domainId, initialRoot);
        }
        uint64 domainIndex = ++_domainCount;
        _domainIndices[domainId] = domainIndex;
        _stateRoots[domainIndex] = initialRoot;
        emit StateDomainRegistered(domainId, initialRoot);
    }

    /// @inheritdoc IWorkflowRegistry
    function setTemplateActive(bytes32 templateId, bool active) external onlyRole(REGISTRAR_ROLE) {
        TemplateRecord storage template_ = _templates[templateId];
        if (template_.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        template_.active = active;
        emit TemplateActiveSet(templateId, active);
    }

    /// @inheritdoc IWorkflowRegistry
    function setTemplateBatchVerifier(
        bytes32 templateId,
        address batchVerifier
    ) external onlyRole(REGISTRAR_ROLE) {
        TemplateRecord storage template_ = _templates[templateId];
        if (template_.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        if (batchVerifier == address(0)) revert Registry__ZeroVerifier(templateId);
        if (batchVerifier.code.length == 0) revert Registry__VerifierHasNoCode(templateId, batchVerifier);
        if (template_.batchVerifier != address(0)) revert Registry__BatchVerifierAlreadySet(templateId);
        template_.batchVerifier = batchVerifier;
        emit TemplateBatchVerifierSet(templateId, batchVerifier, batchVerifier.codehash);
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
        _setTemplatesPaused(true);
    }

    /// @inheritdoc IWorkflowRegistry
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
        _setTemplatesPaused(false);
    }

    /// @dev Sets every registered template's `paused` flag (read by submissions with its first slot).
    function _setTemplatesPaused(bool value) private {
        uint256 count = _templateIds.length;
        for (uint256 i = 0; i < count; ++i) {
            _templates[_templateIds[i]].paused = value;
        }
    }

    // ---------------------------------------------------------------- runs

    /// @inheritdoc IWorkflowRegistry
    function submit(
        bytes32 templateId,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata pubSignals
    ) external {
        (address verifier, bool bindsDefinition) = _plainTemplate(templateId);
        _checkRun(pubSignals, SINGLE_RUN, 0);

        bool valid =
            bindsDefinition
                ? _verifyWithDefinition(templateId, verifier, a, b, c, pubSignals)
                : IWorkflowVerifier(verifier).verifyProof(a, b, c, pubSignals);
        if (!valid) revert Registry__InvalidProof(templateId);

        _record(templateId, pubSignals);
    }

    /// @inheritdoc IWorkflowRegistry
    function submitWithState(
        bytes32 templateId,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[6] calldata pubSignals
    ) external {
        (address verifier, uint64 domainIndex) = _stateTemplate(templateId);
        // The proof must start from the domain's current root: a run proven against an older state is stale.
        uint256 current = _stateRoots[domainIndex];
        _checkStateRun(templateId, current, pubSignals, SINGLE_RUN, 0);
        if (!IWorkflowStateVerifier(verifier).verifyProof(a, b, c, pubSignals)) {
            revert Registry__InvalidProof(templateId);
        }

        uint256 rootAfter = pubSignals[SIGNAL_STATE_ROOT_AFTER];
        // A run that leaves the root as it was (a rolled-back order, a clearing batch): nothing to write.
        if (rootAfter != current) _stateRoots[domainIndex] = rootAfter;
        _recordWithState(templateId, pubSignals);
    }

    /// @inheritdoc IWorkflowRegistry
    function submitBatch(
        bytes32 templateId,
        Groth16Proof[] calldata proofs,
        uint256[4][] calldata pubSignals
    ) external {
        uint256 count = _checkBatchSize(proofs.length, pubSignals.length);
        (address verifier, bool bindsDefinition) = _plainTemplate(templateId);
        _batchVerifierOf(templateId); // none: refused before any run is looked at

        // Each run is checked, stored and announced as its single submission would be, in order: a
        // workflow id twice in one batch is a replay at its second run. The proofs are checked after the
        // loop (a static call); any failure reverts the whole batch, these effects included.
        // The provider set found active for the run before (most batches have one): not read again.
        uint256 activeSet = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint256[4] calldata signals = pubSignals[i];
            // The common case in a few hundred gas; anything else takes the checks `submit` makes.
            if (_recordIfPlain(templateId, _offsetOf(signals), activeSet, false, 0)) {
                activeSet = signals[SIGNAL_PROVIDER_SET_ROOT];
                continue;
            }
            activeSet = _checkRun(signals, i, activeSet);
            _record(templateId, signals);
        }

        if (!_verifyBatch(templateId, bindsDefinition, proofs, pubSignals)) {
            _revertInvalidBatch(templateId, verifier, bindsDefinition, proofs, pubSignals);
        }
    }

    /// @inheritdoc IWorkflowRegistry
    function submitBatchWithState(
        bytes32 templateId,
        Groth16Proof[] calldata proofs,
        uint256[6][] calldata pubSignals
    ) external {
        uint256 count = _checkBatchSize(proofs.length, pubSignals.length);
        (address verifier, uint64 domainIndex) = _stateTemplate(templateId);
        address batchVerifier = _batchVerifierOf(templateId);

        // The runs chain their roots: the first starts from the domain's current root, each next one from
        // the root the run before it left.
        uint256 initial = _stateRoots[domainIndex];
        uint256 root = initial;
        uint256 activeSet = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint256[6] calldata signals = pubSignals[i];
            // The common case in a few hundred gas; anything else takes the checks `submitWithState` makes.
            if (_recordIfPlain(templateId, _offsetOf(signals), activeSet, true, root)) {
                activeSet = signals[SIGNAL_PROVIDER_SET_ROOT];
            } else {
                activeSet = _checkStateRun(templateId, root, signals, i, activeSet);
                _recordWithState(templateId, signals);
            }
            root = signals[SIGNAL_STATE_ROOT_AFTER];
        }
        // One write for the whole chain, none when it ends where it started.
        if (root != initial) _stateRoots[domainIndex] = root;

        if (!_verifyStateBatch(batchVerifier, proofs, pubSignals)) {
            _revertInvalidStateBatch(templateId, verifier, proofs, pubSignals);
        }
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IWorkflowRegistry
    function templateStateDomain(bytes32 templateId) external view returns (bytes32) {
        TemplateRecord storage record = _templates[templateId];
        if (record.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        return record.stateDomain;
    }

    /// @inheritdoc IWorkflowRegistry
    function templateBatchVerifier(bytes32 templateId) external view returns (address) {
        TemplateRecord storage record = _templates[templateId];
        if (record.verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        return record.batchVerifier;
    }

    /// @inheritdoc IWorkflowRegistry
    function currentStateRoot(bytes32 domainId) external view returns (uint256) {
        uint64 domainIndex = _domainIndices[domainId];
        if (domainIndex == 0) revert Registry__UnknownStateDomain(domainId);
        return _stateRoots[domainIndex];
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

    /// @dev A template that takes four signals (its own circuit's, or definition-bound): its verifier and
    ///      whether it binds a definition. Reverts for an unknown, paused, inactive or state template.
    function _plainTemplate(
        bytes32 templateId
    ) private view returns (address verifier, bool bindsDefinition) {
        TemplateRecord storage template_ = _templates[templateId];
        // The five fields share a slot: read together before any branch, the optimizer loads it once.
        verifier = template_.verifier;
        bool active = template_.active;
        bindsDefinition = template_.bindsDefinition;
        bool stateful = template_.stateful;
        bool paused_ = template_.paused;
        if (verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        if (paused_) revert EnforcedPause();
        if (!active) revert Registry__TemplateInactive(templateId);
        // A state template's runs must move its domain's root: they go through submitWithState.
        if (stateful) revert Registry__TemplateKindMismatch(templateId);
    }

    /// @dev A state template: its verifier and its state domain's index (both in the template's first slot).
    ///      Reverts for an unknown, paused, inactive or plain one.
    function _stateTemplate(bytes32 templateId) private view returns (address verifier, uint64 domainIndex) {
        TemplateRecord storage template_ = _templates[templateId];
        verifier = template_.verifier;
        bool active = template_.active;
        bool stateful = template_.stateful;
        domainIndex = template_.domainIndex;
        bool paused_ = template_.paused;
        if (verifier == address(0)) revert Registry__UnknownTemplate(templateId);
        if (paused_) revert EnforcedPause();
        if (!active) revert Registry__TemplateInactive(templateId);
        if (!stateful) revert Registry__TemplateKindMismatch(templateId);
    }

    /// @dev The template's batch verifier; reverts when it has none.
    function _batchVerifierOf(bytes32 templateId) private view returns (address batchVerifier) {
        batchVerifier = _templates[templateId].batchVerifier;
        if (batchVerifier == address(0)) revert Registry__NoBatchVerifier(templateId);
    }

    /// @dev A batch has 1 to MAX_BATCH_SIZE runs, one signal row per proof.
    function _checkBatchSize(uint256 proofCount, uint256 signalCount) private pure returns (uint256) {
        if (proofCount == 0 || proofCount > MAX_BATCH_SIZE || proofCount != signalCount) {
            revert Registry__InvalidBatchSize(proofCount, signalCount, MAX_BATCH_SIZE);
        }
        return proofCount;
    }

    /// @dev Checks a run of four signals as `submit` does (its proof aside): every signal below the modulus,
    ///      then outcome, provider set, submitter and replay. A refusal is raised with `_reject`. Returns the
    ///      run's provider set root, found active (`activeSet`: one found active before, not read again).
    function _checkRun(
        uint256[4] calldata pubSignals,
        uint256 run,
        uint256 activeSet
    ) private view returns (uint256) {
        _checkInField(pubSignals, run);
        return
            _checkRunFields(
                pubSignals[SIGNAL_WORKFLOW_ID],
                pubSignals[SIGNAL_RUN_CLAIM],
                pubSignals[SIGNAL_PROVIDER_SET_ROOT],
                run,
                activeSet
            );
    }

    /// @dev As `_checkRun` for a state template's run (six signals), which must moreover start from
    ///      `expectedRoot` (else Registry__StaleStateRoot) and not leave a zero root
    ///      (Registry__InvalidStateRoot).
    function _checkStateRun(
        bytes32 templateId,
        uint256 expectedRoot,
        uint256[6] calldata pubSignals,
        uint256 run,
        uint256 activeSet
    ) private view returns (uint256 providerSet) {
        _checkInField(pubSignals, run);
        providerSet = _checkRunFields(
            pubSignals[SIGNAL_WORKFLOW_ID],
            pubSignals[SIGNAL_RUN_CLAIM],
            pubSignals[SIGNAL_PROVIDER_SET_ROOT],
            run,
            activeSet
        );
        uint256 rootBefore = pubSignals[SIGNAL_STATE_ROOT_BEFORE];
        if (rootBefore != expectedRoot) {
            _reject(run, abi.encodeWithSelector(Registry__StaleStateRoot.selector, expectedRoot, rootBefore));
        }
        // Zero is an unregistered domain's root: storing it would unregister the domain (and let anyone
        // with the registrar role register it again from another root). Below the modulus: checked above.
        uint256 rootAfter = pubSignals[SIGNAL_STATE_ROOT_AFTER];
        if (rootAfter == 0) {
            bytes32 domainId = _templates[templateId].stateDomain;
            _reject(run, abi.encodeWithSelector(Registry__InvalidStateRoot.selector, domainId, rootAfter));
        }
    }

    /// @dev Every one of a run's four signals below the modulus, else Registry__InputNotInField(index, value)
    ///      for the first that is not.
    function _checkInField(uint256[4] calldata signals, uint256 run) private pure {
        for (uint256 i = 0; i < PUBLIC_SIGNAL_COUNT; ++i) {
            if (signals[i] >= SNARK_SCALAR_FIELD) {
                _reject(run, abi.encodeWithSelector(Registry__InputNotInField.selector, i, signals[i]));
            }
        }
    }

    /// @dev `_checkInField` for a state run's six signals.
    function _checkInField(uint256[6] calldata signals, uint256 run) private pure {
        for (uint256 i = 0; i < STATE_PUBLIC_SIGNAL_COUNT; ++i) {
            if (signals[i] >= SNARK_SCALAR_FIELD) {
                _reject(run, abi.encodeWithSelector(Registry__InputNotInField.selector, i, signals[i]));
            }
        }
    }

    /// @dev The checks of a run every kind of template shares: outcome, provider set, submitter, replay.
    ///      Returns the run's provider set root (active); `activeSet` is one already found active.
    function _checkRunFields(
        uint256 workflowId,
        uint256 runClaim,
        uint256 providerSetRoot,
        uint256 run,
        uint256 activeSet
    ) private view returns (uint256) {
        // runClaim = submitter + outcome * 2^160: any claim at or above 2^162 reads as an outcome above 3.
        uint256 outcome = runClaim >> CLAIM_OUTCOME_SHIFT;
        if (outcome != OUTCOME_COMMITTED && outcome != OUTCOME_ROLLED_BACK) {
            _reject(run, abi.encodeWithSelector(Registry__InvalidOutcome.selector, outcome));
        }
        if (providerSetRoot != activeSet || activeSet == 0) {
            ProviderSetStatus providerSetStatus = _providerSets[providerSetRoot];
            if (providerSetStatus == ProviderSetStatus.Unknown) {
                _reject(run, abi.encodeWithSelector(Registry__UnknownProviderSet.selector, providerSetRoot));
            }
            if (providerSetStatus == ProviderSetStatus.Revoked) {
                _reject(run, abi.encodeWithSelector(Registry__ProviderSetRevoked.selector, providerSetRoot));
            }
        }
        // The claim's low 160 bits (the circuit range-checks the submitter, so they are all of it).
        address boundSubmitter = address(uint160(runClaim));
        if (boundSubmitter != msg.sender) {
            _reject(
                run,
                abi.encodeWithSelector(Registry__SubmitterMismatch.selector, boundSubmitter, msg.sender)
            );
        }
        // The workflow id is the nullifier: a re-randomised proof of the same run has the same id.
        if (_entries[workflowId] != 0) {
            _reject(run, abi.encodeWithSelector(Registry__AlreadyRecorded.selector, workflowId));
        }
        return providerSetRoot;
    }

    /// @dev Refuses a run with `reason`, an ABI-encoded registry error: raised as it is for a single
    ///      submission (`run` = SINGLE_RUN), as Registry__BatchRunRejected(run, reason) for run `run` of a
    ///      batch.
    function _reject(uint256 run, bytes memory reason) private pure {
        if (run == SINGLE_RUN) {
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
        revert Registry__BatchRunRejected(run, reason);
    }

    // ------------------------------------------------------------ batch fast path
    //
    // A batch's runs are checked and recorded by `_recordIfPlain` when every check passes in its plainest
    // form: it records a run only if every one of `_checkRun`'s (`_checkStateRun`'s) conditions holds,
    // and exactly as `_record` (`_recordWithState`) would: the same storage word and the same events, in
    // the same order. It is an accelerator only (a few hundred gas a run instead of ~1.5k): a run it does
    // not take goes through the Solidity checks, which raise its error (and would record it if it passed
    // them). The tests
    // compare a batch's storage and events with those of single submissions, and every refusal. Memory:
    // only from the free memory pointer on, never the scratch space, which the optimizer's constant
    // loads may overwrite between statements.

    /// @dev Records a run as `_record` does (the same storage word, the same event), or a state run
    ///      (`stateful`) as `_recordWithState` does (its WorkflowRecordedWithState event), when it passes
    ///      every check of `_checkRun` (`_checkStateRun`) plainly: its first four signals below the
    ///      modulus, outcome 1 or 2, provider set `activeSet` (non-zero, found active before) or active in
    ///      storage, bound submitter = msg.sender, workflow id not recorded; for a state run also
    ///      stateRootBefore = `expectedRoot` (below the modulus: a domain's root) and 0 < stateRootAfter <
    ///      modulus. Else returns false, having changed nothing. `signals` is the calldata offset of the
    ///      run's signals.
    function _recordIfPlain(
        bytes32 templateId,
        uint256 signals,
        uint256 activeSet,
        bool stateful,
        uint256 expectedRoot
    ) private returns (bool plain) {
        bytes32 recordedTopic = WorkflowRecorded.selector;
        bytes32 withStateTopic = WorkflowRecordedWithState.selector;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // The modulus once on the stack: as a literal in each comparison, the optimizer would load it
            // from code each time.
            let field := SNARK_SCALAR_FIELD
            let entry := 0
            if or(iszero(stateful), plainRoots(signals, expectedRoot, field)) {
                entry := plainRunEntry(signals, activeSet, field)
            }
            if entry {
                let data := mload(0x40)
                let outcome := shr(CLAIM_OUTCOME_SHIFT, calldataload(signals))
                // _packEntry(traceRoot, outcome); WorkflowRecorded's data: outcome, then signals 2 and 3
                // (traceRoot, providerSetRoot); WorkflowRecordedWithState's: those, then signals 4 and 5
                // (stateRootBefore, stateRootAfter)
                sstore(entry, or(calldataload(add(signals, 0x40)), shl(OUTCOME_SHIFT, outcome)))
                mstore(data, outcome)
                calldatacopy(add(data, 0x20), add(signals, 0x40), 0x40)
                switch stateful
                case 0 {
                    log4(data, 0x60, recordedTopic, calldataload(add(signals, 0x20)), templateId, caller())
                }
                default {
                    calldatacopy(add(data, 0x60), add(signals, 0x80), 0x40)
                    log4(data, 0xa0, withStateTopic, calldataload(add(signals, 0x20)), templateId, caller())
                }
            }
            plain := iszero(iszero(entry))

            function plainRoots(at, expected, f) -> ok {
                let rootAfter := calldataload(add(at, 0xa0))
                ok := and(
                    eq(calldataload(add(at, 0x80)), expected),
                    and(lt(rootAfter, f), iszero(iszero(rootAfter)))
                )
            }
            // The run's entry slot when it passes the four-signal checks, else 0 (keccak256 is never 0 here).
            function plainRunEntry(at, known, f) -> slot {
                // runClaim: outcome 1 or 2 (so the claim is below 2^162, far below the modulus) and its
                // low 160 bits msg.sender
                let claim := calldataload(at)
                let outcome := shr(CLAIM_OUTCOME_SHIFT, claim)
                let ok := and(
                    or(eq(outcome, 1), eq(outcome, 2)),
                    eq(and(claim, sub(shl(CLAIM_OUTCOME_SHIFT, 1), 1)), caller())
                )
                ok := and(ok, and(lt(calldataload(add(at, 0x20)), f), lt(calldataload(add(at, 0x40)), f)))
                ok := and(ok, lt(calldataload(add(at, 0x60)), f))
                let key := mload(0x40)
                let providerSetRoot := calldataload(add(at, 0x60))
                if and(ok, iszero(and(eq(providerSetRoot, known), iszero(iszero(known))))) {
                    mstore(key, providerSetRoot)
                    mstore(add(key, 0x20), _providerSets.slot)
                    ok := eq(sload(keccak256(key, 0x40)), 1) // ProviderSetStatus.Active
                }
                if ok {
                    mstore(key, calldataload(add(at, 0x20)))
                    mstore(add(key, 0x20), _entries.slot)
                    slot := keccak256(key, 0x40)
                    if sload(slot) {
                        slot := 0
                    }
                }
            }
        }
    }

    /// @dev The calldata offset of a run's four signals.
    function _offsetOf(uint256[4] calldata signals) private pure returns (uint256 offset) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            offset := signals
        }
    }

    /// @dev The calldata offset of a state run's six signals.
    function _offsetOf(uint256[6] calldata signals) private pure returns (uint256 offset) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            offset := signals
        }
    }

    /// @dev Stores a run of four signals and emits its WorkflowRecorded event.
    function _record(bytes32 templateId, uint256[4] calldata pubSignals) private {
        uint256 workflowId = pubSignals[SIGNAL_WORKFLOW_ID];
        uint256 outcome = pubSignals[SIGNAL_RUN_CLAIM] >> CLAIM_OUTCOME_SHIFT;
        uint256 traceRoot = pubSignals[SIGNAL_TRACE_ROOT];
        _entries[workflowId] = _packEntry(traceRoot, outcome);
        emit WorkflowRecorded(
            workflowId,
            templateId,
            msg.sender,
            uint8(outcome),
            traceRoot,
            pubSignals[SIGNAL_PROVIDER_SET_ROOT]
        );
    }

    /// @dev Stores a state run and emits its WorkflowRecordedWithState event (the domain's root is written
    ///      by the caller).
    function _recordWithState(bytes32 templateId, uint256[6] calldata pubSignals) private {
        uint256 workflowId = pubSignals[SIGNAL_WORKFLOW_ID];
        uint256 outcome = pubSignals[SIGNAL_RUN_CLAIM] >> CLAIM_OUTCOME_SHIFT;
        uint256 traceRoot = pubSignals[SIGNAL_TRACE_ROOT];
        _entries[workflowId] = _packEntry(traceRoot, outcome);
        emit WorkflowRecordedWithState(
            workflowId,
            templateId,
            msg.sender,
            uint8(outcome),
            traceRoot,
            pubSignals[SIGNAL_PROVIDER_SET_ROOT],
            pubSignals[SIGNAL_STATE_ROOT_BEFORE],
            pubSignals[SIGNAL_STATE_ROOT_AFTER]
        );
    }

    /// @dev Checks a batch of four-signal runs with the template's batch verifier: for a definition-bound
    ///      template, with its definition hash as every proof's fifth signal.
    function _verifyBatch(
        bytes32 templateId,
        bool bindsDefinition,
        Groth16Proof[] calldata proofs,
        uint256[4][] calldata pubSignals
    ) private view returns (bool) {
        address batchVerifier = _batchVerifierOf(templateId);
        uint256 signalsOffset;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            signalsOffset := pubSignals.offset
        }
        if (!bindsDefinition) {
            bytes4 selector = IWorkflowBatchVerifier.verifyBatch.selector;
            return _callBatchVerifier(batchVerifier, selector, proofs, signalsOffset, PUBLIC_SIGNAL_COUNT, 0);
        }
        uint256 definitionHash = uint256(_templates[templateId].metadataHash);
        bytes4 withDefinition = IWorkflowDefinitionBatchVerifier.verifyBatch.selector;
        return
            _callBatchVerifier(
                batchVerifier,
                withDefinition,
                proofs,
                signalsOffset,
                PUBLIC_SIGNAL_COUNT,
                definitionHash
            );
    }

    /// @dev Calls a batch verifier's verifyBatch(proofs, signals[, definitionHash]) with the batch's calldata
    ///      copied as it is (two calldatacopy, no per-run encoding): the signal rows, `width` words each, one
    ///      per proof, from calldata offset `signalsOffset`; a third argument, `definitionHash`, when it is
    ///      not zero (a definition-bound template's, never zero). True only when the call returns true; a
    ///      target without code returns nothing, which is false; a revert is passed on.
    function _callBatchVerifier(
        address batchVerifier,
        bytes4 selector,
        Groth16Proof[] calldata proofs,
        uint256 signalsOffset,
        uint256 width,
        uint256 definitionHash
    ) private view returns (bool valid) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let data := mload(0x40)
            // the head: two offsets, then definitionHash when there is one
            let head := add(0x40, mul(iszero(iszero(definitionHash)), 0x20))
            mstore(data, selector)
            mstore(add(data, 0x04), head)
            mstore(add(data, 0x24), add(add(head, 0x20), shl(8, proofs.length)))
            if definitionHash {
                mstore(add(data, 0x44), definitionHash)
            }
            let at := add(add(data, 0x04), head)
            mstore(at, proofs.length)
            calldatacopy(add(at, 0x20), proofs.offset, shl(8, proofs.length))
            at := add(add(at, 0x20), shl(8, proofs.length))
            mstore(at, proofs.length)
            calldatacopy(add(at, 0x20), signalsOffset, mul(proofs.length, shl(5, width)))
            at := add(add(at, 0x20), mul(proofs.length, shl(5, width)))
            // A revert of the batch verifier is passed on, as a high-level call would.
            if iszero(staticcall(gas(), batchVerifier, data, sub(at, data), data, 0x20)) {
                returndatacopy(data, 0, returndatasize())
                revert(data, returndatasize())
            }
            valid := and(gt(returndatasize(), 0x1f), eq(mload(data), 1))
        }
    }

    /// @dev Checks a batch of state runs with the template's batch verifier.
    function _verifyStateBatch(
        address batchVerifier,
        Groth16Proof[] calldata proofs,
        uint256[6][] calldata pubSignals
    ) private view returns (bool) {
        uint256 signalsOffset;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            signalsOffset := pubSignals.offset
        }
        bytes4 selector = IWorkflowStateBatchVerifier.verifyBatch.selector;
        return
            _callBatchVerifier(batchVerifier, selector, proofs, signalsOffset, STATE_PUBLIC_SIGNAL_COUNT, 0);
    }

    /// @dev The batch verifier refused a batch of state runs: names the first run whose proof the template's
    ///      own verifier refuses, or, when it refuses none, says the batch verifier disagrees with it.
    function _revertInvalidStateBatch(
        bytes32 templateId,
        address verifier,
        Groth16Proof[] calldata proofs,
        uint256[6][] calldata pubSignals
    ) private view {
        for (uint256 i = 0; i < proofs.length; ++i) {
            Groth16Proof calldata proof = proofs[i];
            if (!IWorkflowStateVerifier(verifier).verifyProof(proof.a, proof.b, proof.c, pubSignals[i])) {
                revert Registry__BatchRunRejected(
                    i,
                    abi.encodeWithSelector(Registry__InvalidProof.selector, templateId)
                );
            }
        }
        revert Registry__BatchVerifierRejected(templateId);
    }

    /// @dev The batch verifier refused a batch of four-signal runs: names the first run whose proof the
    ///      template's own verifier refuses (as its single submission would be refused), or, when it refuses
    ///      none, says the batch verifier disagrees with it.
    function _revertInvalidBatch(
        bytes32 templateId,
        address verifier,
        bool bindsDefinition,
        Groth16Proof[] calldata proofs,
        uint256[4][] calldata pubSignals
    ) private view {
        for (uint256 i = 0; i < proofs.length; ++i) {
            Groth16Proof calldata proof = proofs[i];
            bool valid =
                bindsDefinition
                    ? _verifyWithDefinition(templateId, verifier, proof.a, proof.b, proof.c, pubSignals[i])
                    : IWorkflowVerifier(verifier).verifyProof(proof.a, proof.b, proof.c, pubSignals[i]);
            if (!valid) {
                revert Registry__BatchRunRejected(
                    i,
                    abi.encodeWithSelector(Registry__InvalidProof.selector, templateId)
                );
            }
        }
        revert Registry__BatchVerifierRejected(templateId);
    }

    /// @dev Stores a new, active template; shared by the three kinds of registration. The event carries
    ///      the whole record and the verifier's code hash, so the templates can be rebuilt from events.
    function _registerTemplate(
        bytes32 templateId,
        address verifier,
        bytes32 metadataHash,
        bool bindsDefinition,
        bool stateful,
        bytes32 stateDomain,
        uint64 domainIndex
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
            domainIndex: domainIndex,
            paused: paused(),
            metadataHash: metadataHash,
            stateDomain: stateDomain,
            batchVerifier: address(0)
        });
        _templateIds.push(templateId);
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

    /// @dev Checks a definition-bound template's proof: the submitted four signals, then the template's
    ///      definition hash (its metadataHash, checked below the modulus at registration) as the fifth.
    function _verifyWithDefinition(
        bytes32 templateId,
        address verifier,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata pubSignals
    ) private view returns (bool) {
        uint256 definitionHash = uint256(_templates[templateId].metadataHash);
        uint256[5] memory signals = [
            pubSignals[SIGNAL_RUN_CLAIM],
            pubSignals[SIGNAL_WORKFLOW_ID],
            pubSignals[SIGNAL_TRACE_ROOT],
            pubSignals[SIGNAL_PROVIDER_SET_ROOT],
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
