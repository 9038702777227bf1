/**
 * Names of external systems and their operations as the trace carries them. Their numeric codes
 * (what trace records hold and the circuits check against constants) are declared by each system's
 * module (src/systems/<name>/: the module's `code`, each operation's `code`) and checked unique by
 * the systems catalog (src/systems/catalog.ts), which also maps codes back to names.
 */
/** A registered system's name, e.g. "payment" (src/systems/<name>/). */
export type SystemName = string;
/** A registered operation's name, e.g. "payment.charge": its system's name or prefix, a dot, a verb. */
export type OperationName = string;
