// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Groth16Proof} from "./Groth16Proof.sol";

/// @title IWorkflowRegistry
/// @notice An audit registry of proven workflow runs. Each run is proven by a Groth16 proof whose four
///         public signals are, in order: runClaim = submitter + outcome * 2^160 (submitter the uint160 of
///         the only address allowed to submit the proof, outcome 1 = COMMITTED or 2 = ROLLED_BACK: both
///         range-checked by the circuit, so the split is unique), workflowId (the replay nullifier),
///         traceRoot and providerSetRoot.
///
///         A template registered with `registerDefinitionTemplate` is bound to one user-defined workflow:
///         its verifier (IWorkflowDefinitionVerifier, shared by all such templates) takes a fifth public
///         signal, the definition's hash, which the registry appends from the template at submission. The
///         submitter passes the same four signals for both kinds and cannot choose the definition.
interface IWorkflowRegistry {
    /// @notice One attested external system: its code and its Baby Jubjub EdDSA public key.
    struct Provider {
        uint256 systemCode;
        uint256 pubKeyX;
        uint256 pubKeyY;
    }

    /// @notice A registered workflow template: the verifier of its circuit and a hash of its metadata.
    ///         When `bindsDefinition` is true, the verifier is an IWorkflowDefinitionVerifier and
    ///         `metadataHash` is the bound definition's hash (a field element), its fifth public signal.
    struct Template {
        address verifier;
        bool active;
        bytes32 metadataHash;
        bool bindsDefinition;
    }

    /// @notice What the registry stores of a recorded workflow run. Its templateId, submitter,
    ///         providerSetRoot and block are in the run's WorkflowRecorded event.
    struct Entry {
        uint8 outcome;
        uint256 traceRoot;
    }

    /// @dev Everything a template is registered with, so that the audit trail can be rebuilt from the
    ///      events alone. `bindsDefinition` tells a definition-bound template (registerDefinitionTemplate,
    ///      whose metadataHash is the definition's hash) from a template of its own circuit
    ///      (registerTemplate); `stateful` a state template (registerStateTemplate), whose runs move
    ///      `stateDomain` (bytes32(0) for the other kinds). `verifierCodeHash` is the verifier's
    ///      extcodehash at registration: what an auditor compares with the hash of the verifier compiled
    ///      from the circuit's verification key.
    event TemplateRegistered(
        bytes32 indexed templateId,
        address indexed verifier,
        bytes32 metadataHash,
        bool bindsDefinition,
        bool stateful,
        bytes32 stateDomain,
        bytes32 verifierCodeHash
    );
    event TemplateActiveSet(bytes32 indexed templateId, bool active);
    /// @dev A template's batch verifier (generated at setup from the same verification key as its verifier)
    ///      and its extcodehash, for auditors to compare with the one compiled from the key.
    event TemplateBatchVerifierSet(
        bytes32 indexed templateId,
        address indexed batchVerifier,
        bytes32 batchVerifierCodeHash
    );
    /// @dev Carries the full provider list so that anyone can rebuild the Poseidon root off-chain.
    event ProviderSetRegistered(uint256 indexed root, Provider[] providers);
    event ProviderSetRevoked(uint256 indexed root);
    /// @dev The full, immutable record of a run: the registry's storage keeps only its outcome and
    ///      traceRoot (see getEntry).
    event WorkflowRecorded(
        uint256 indexed workflowId,
        bytes32 indexed templateId,
        address indexed submitter,
        uint8 outcome,
        uint256 traceRoot,
        uint256 providerSetRoot
    );

    error Registry__ZeroAdmin();
    error Registry__ZeroVerifier(bytes32 templateId);
    /// @notice A template's verifier address holds no code: calls to it would "succeed" and return
    ///         nothing, so it could never verify a proof (or a later deployment there could).
    error Registry__VerifierHasNoCode(bytes32 templateId, address verifier);
    error Registry__TemplateAlreadyRegistered(bytes32 templateId);
    error Registry__InvalidDefinitionHash(bytes32 templateId, uint256 definitionHash);
    error Registry__UnknownTemplate(bytes32 templateId);
    error Registry__TemplateInactive(bytes32 templateId);
    error Registry__InvalidProviderSetRoot(uint256 root);
    error Registry__EmptyProviderSet(uint256 root);
    error Registry__ProviderNotInField(uint256 root, uint256 providerIndex);
    error Registry__ProviderSetAlreadyRegistered(uint256 root);
    error Registry__UnknownProviderSet(uint256 root);
    error Registry__ProviderSetRevoked(uint256 root);
    error Registry__InputNotInField(uint256 index, uint256 value);
    error Registry__InvalidOutcome(uint256 outcome);
    error Registry__SubmitterMismatch(address bound, address sender);
    error Registry__AlreadyRecorded(uint256 workflowId);
    error Registry__InvalidProof(bytes32 templateId);
    error Registry__UnknownWorkflow(uint256 workflowId);
    error Registry__StateDomainExists(bytes32 domainId);
    /// @dev A state root that cannot be a domain's: zero (what an unregistered domain's root looks like)
    ///      or not below SNARK_SCALAR_FIELD. Raised for a domain's initial root and a run's stateRootAfter.
    error Registry__InvalidStateRoot(bytes32 domainId, uint256 root);
    error Registry__UnknownStateDomain(bytes32 domainId);
    /// @notice The zero domain id is what a template without state carries: no domain may take it.
    error Registry__ZeroStateDomain();
    error Registry__StaleStateRoot(uint256 expected, uint256 given);
    error Registry__TemplateKindMismatch(bytes32 templateId);
    /// @notice A batch has from 1 to `maxSize` runs, and as many signal rows as proofs.
    error Registry__InvalidBatchSize(uint256 proofCount, uint256 signalCount, uint256 maxSize);
    error Registry__NoBatchVerifier(bytes32 templateId);
    error Registry__BatchVerifierAlreadySet(bytes32 templateId);
    /// @notice Run `runIndex` of a batch (counting from 0) cannot be recorded: `reason` is the registry error
    ///         its single submission would raise (ABI-encoded with its selector, e.g.
    ///         Registry__AlreadyRecorded(workflowId), Registry__StaleStateRoot(expected, given) for a broken
    ///         root chain, Registry__InvalidProof(templateId) for the first proof the template's verifier
    ///         refuses). The whole batch is reverted.
    error Registry__BatchRunRejected(uint256 runIndex, bytes reason);
    /// @notice The batch verifier refused a batch whose every proof the template's verifier accepts on its
    ///         own: the two verifiers are not of one verification key.
    error Registry__BatchVerifierRejected(bytes32 templateId);

    /// @dev A state domain (e.g. keccak256("order/stock")) and the root its history starts from.
    event StateDomainRegistered(bytes32 indexed domainId, uint256 initialRoot);
    /// @dev The full, immutable record of a state template's run (submitWithState, submitBatchWithState):
    ///      WorkflowRecorded's fields and the move of the template's state domain from stateRootBefore to
    ///      stateRootAfter (equal when the run left the state as it was). One event per run; the domain is
    ///      the template's (templateStateDomain, fixed at registration).
    event WorkflowRecordedWithState(
        uint256 indexed workflowId,
        bytes32 indexed templateId,
        address indexed submitter,
        uint8 outcome,
        uint256 traceRoot,
        uint256 providerSetRoot,
        uint256 stateRootBefore,
        uint256 stateRootAfter
    );

    /// @notice Registers a state domain with the root of its initial state. Registrar only.
    /// @param domainId The domain's id (by convention keccak256 of its name).
    /// @param initialRoot The Poseidon root of the initial state: non-zero and below SNARK_SCALAR_FIELD.
    function registerStateDomain(bytes32 domainId, uint256 initialRoot) external;

    /// @notice Registers a template whose runs move a state domain's root; their proofs have six
    ///         public signals (the four of `submit`, then stateRootBefore, stateRootAfter) and are
    ///         recorded with `submitWithState` only. Registrar only.
    /// @param templateId The template's id.
    /// @param verifier The template's verifier, which must implement IWorkflowStateVerifier.
    /// @param metadataHash A hash of the template's off-chain metadata.
    /// @param domainId The registered state domain the template's runs move.
    function registerStateTemplate(
        bytes32 templateId,
        address verifier,
        bytes32 metadataHash,
        bytes32 domainId
    ) external;

    /// @notice Records a proven run of a state template and advances its domain's root. Besides the
    ///         checks of `submit`, the proof's stateRootBefore must be the domain's current root (else
    ///         Registry__StaleStateRoot(expected, given)) and its stateRootAfter non-zero (else
    ///         Registry__InvalidStateRoot(domainId, 0): a zero root would unregister the domain); the
    ///         domain's root becomes stateRootAfter.
    /// @param templateId The template the run belongs to.
    /// @param a The proof's A point.
    /// @param b The proof's B point, each coordinate pair in Solidity's order.
    /// @param c The proof's C point.
    /// @param pubSignals runClaim, workflowId, traceRoot, providerSetRoot, stateRootBefore, stateRootAfter.
    function submitWithState(
        bytes32 templateId,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[6] calldata pubSignals
    ) external;

    /// @notice Records up to MAX_BATCH_SIZE proven runs of one template (of its own circuit, or bound to a
    ///         definition) in one transaction, verified together by the template's batch verifier (N + 3
    ///         pairings). Each run is checked, stored and announced exactly as by `submit` (the same entry
    ///         and WorkflowRecorded event), in order; a run that `submit` would refuse reverts the whole
    ///         batch with Registry__BatchRunRejected(index, the error `submit` would raise), and so does a
    ///         workflow id that an earlier run of the batch took.
    /// @param templateId The template every run belongs to.
    /// @param proofs The runs' proofs.
    /// @param pubSignals Each run's four public signals, as for `submit`.
    function submitBatch(
        bytes32 templateId,
        Groth16Proof[] calldata proofs,
        uint256[4][] calldata pubSignals
    ) external;

    /// @notice Records up to MAX_BATCH_SIZE proven runs of one state template in one transaction, as
    ///         `submitWithState` would record them one after the other: run 0 starts from the domain's
    ///         current root, run i from run i-1's stateRootAfter (else Registry__BatchRunRejected(i,
    ///         Registry__StaleStateRoot(expected, given))); the domain's root becomes the last run's
    ///         stateRootAfter. Each run's entry and WorkflowRecordedWithState event are those
    ///         of its single submission. Any refused run reverts the whole batch (see submitBatch).
    /// @param templateId The state template every run belongs to.
    /// @param proofs The runs' proofs.
    /// @param pubSignals Each run's six public signals, as for `submitWithState`.
    function submitBatchWithState(
        bytes32 templateId,
        Groth16Proof[] calldata proofs,
        uint256[6][] calldata pubSignals
    ) external;

    /// @notice Gives a template its batch verifier, once: IWorkflowBatchVerifier for a template of its own
    ///         circuit, IWorkflowDefinitionBatchVerifier for a definition-bound one,
    ///         IWorkflowStateBatchVerifier for a state template, generated from the verification key of the
    ///         template's verifier. Registrar only.
    /// @param templateId The registered template.
    /// @param batchVerifier The batch verifier's address (a contract).
    function setTemplateBatchVerifier(bytes32 templateId, address batchVerifier) external;

    /// @notice Returns a template's batch verifier (zero when it has none); reverts with
    ///         Registry__UnknownTemplate when the template is absent.
    /// @param templateId The template's id.
    /// @return The batch verifier's address.
    function templateBatchVerifier(bytes32 templateId) external view returns (address);

    /// @notice Returns the state domain a template's runs move (zero for a template without state).
    /// @param templateId The template's id; reverts with Registry__UnknownTemplate when absent.
    /// @return The domain's id.
    function templateStateDomain(bytes32 templateId) external view returns (bytes32);

    /// @notice Returns a state domain's current root; reverts with Registry__UnknownStateDomain when absent.
    /// @param domainId The domain's id.
    /// @return The root of the domain's state after the last recorded run.
    function currentStateRoot(bytes32 domainId) external view returns (uint256);

    /// @notice Registers a workflow template and the verifier of its circuit. Registrar only.
    /// @param templateId The template's id (by convention keccak256 of its name).
    /// @param verifier The template's Groth16 verifier, which must implement IWorkflowVerifier.
    /// @param metadataHash A hash of the template's off-chain metadata (definition, circuit, keys).
    function registerTemplate(bytes32 templateId, address verifier, bytes32 metadataHash) external;

    /// @notice Registers a template bound to one user-defined workflow: runs submitted for it are checked
    ///         by the generic circuit's verifier against `definitionHash`, which the registry appends as
    ///         the fifth public signal. Its metadataHash is `bytes32(definitionHash)`. Registrar only.
    /// @param templateId The template's id (by convention keccak256 of its name).
    /// @param verifier The generic circuit's Groth16 verifier, which must implement
    ///        IWorkflowDefinitionVerifier; many templates may share it.
    /// @param definitionHash The Poseidon hash of the workflow definition: non-zero and below
    ///        SNARK_SCALAR_FIELD.
    function registerDefinitionTemplate(
        bytes32 templateId,
        address verifier,
        uint256 definitionHash
    ) external;

    /// @notice Activates or deactivates a template; runs of an inactive template cannot be submitted.
    ///         Registrar only.
    /// @param templateId The template's id.
    /// @param active Whether submissions for the template are accepted.
    function setTemplateActive(bytes32 templateId, bool active) external;

    /// @notice Registers a set of providers by the Poseidon Merkle root the circuits commit to. The
    ///         registry cannot recompute the root: it records it as known and emits the provider list.
    ///         Registrar only.
    /// @param root The provider set's root, a non-zero field element.
    /// @param providers The providers whose leaves make up the root.
    function registerProviderSet(uint256 root, Provider[] calldata providers) external;

    /// @notice Revokes a provider set; runs attested by it can no longer be submitted. Registrar only.
    /// @param root The provider set's root.
    function revokeProviderSet(uint256 root) external;

    /// @notice Pauses submissions. Admin only.
    function pause() external;

    /// @notice Resumes submissions. Admin only.
    function unpause() external;

    /// @notice Records a proven workflow run. Only the address bound in the proof may submit it, and
    ///         each workflow id is recorded once. For a definition-bound template the proof is checked
    ///         with the template's definition hash appended as the fifth public signal.
    /// @param templateId The template the run belongs to.
    /// @param a The proof's A point.
    /// @param b The proof's B point, each coordinate pair in Solidity's order.
    /// @param c The proof's C point.
    /// @param pubSignals runClaim, workflowId, traceRoot, providerSetRoot (for both kinds of template: a
    ///        definition-bound template supplies the fifth signal itself).
    function submit(
        bytes32 templateId,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata pubSignals
    ) external;

    /// @notice Returns a recorded run's outcome and traceRoot; reverts with Registry__UnknownWorkflow when
    ///         absent. The run's other fields (templateId, submitter, providerSetRoot, block number) are
    ///         not stored: read them from its WorkflowRecorded event, indexed by workflowId.
    /// @param workflowId The run's workflow id.
    /// @return entry The run's outcome (1 = COMMITTED, 2 = ROLLED_BACK) and traceRoot.
    function getEntry(uint256 workflowId) external view returns (Entry memory entry);

    /// @notice Tells whether a workflow id has been recorded.
    /// @param workflowId The run's workflow id.
    /// @return True when recorded.
    function isRecorded(uint256 workflowId) external view returns (bool);

    /// @notice Returns a registered template; reverts with Registry__UnknownTemplate when absent.
    /// @param templateId The template's id.
    /// @return template_ The template.
    function getTemplate(bytes32 templateId) external view returns (Template memory template_);

    /// @notice Tells whether a provider set is registered and not revoked.
    /// @param root The provider set's root.
    /// @return True when the set is active.
    function isProviderSetActive(uint256 root) external view returns (bool);
}
