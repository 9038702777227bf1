import path from "node:path";
import type { PublicKey } from "../../crypto";
import type { Logger } from "../../project";
import {
  loadOrCreateProviderKey,
  operationHandler,
  startSimulatedSystem,
  type LedgerEntry,
  type OperationHandler,
  type SimulatedSystem,
} from "../../systems";
import { ProviderSet, SYSTEM_CODES, type ProviderKey, type SystemName } from "../../trace";
import type { OperationSpec } from "../../host";
import {
  invoiceIssue,
  invoiceVoid,
  logisticsCancel,
  logisticsShip,
  ORDER_OPERATIONS,
  paymentCharge,
  paymentRefund,
  type InvoiceIssueResponse,
  type InvoiceVoidResponse,
  type LogisticsCancelResponse,
  type LogisticsShipResponse,
  type PaymentChargeResponse,
  type PaymentRefundResponse,
} from "./operations";

export const SIM_CARRIER = "SIM-CARRIER";

export const ORDER_SYSTEMS = ["payment", "logistics", "invoicing"] as const satisfies readonly SystemName[];
export type OrderSystemName = (typeof ORDER_SYSTEMS)[number];

function numbered(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, "0")}`;
}

/** Delivery days derived deterministically from the destination text: 1 to 5. */
export function etaDaysFor(destination: string): number {
  const sum = [...Buffer.from(destination, "utf8")].reduce((total, byte) => total + byte, 0);
  return 1 + (sum % 5);
}

/** The ledger entries of one operation whose answer had the given status. */
function effectsOf<Req, Res extends { status: string }>(
  ledger: readonly LedgerEntry[],
  operation: OperationSpec<Req, Res>,
  status: Res["status"],
): { request: Req; response: Res }[] {
  return ledger
    .filter((e) => e.operation === operation.name && (e.response as Res).status === status)
    .map((e) => ({ request: e.request as Req, response: e.response as Res }));
}

/**
 * The business logic of the three simulated systems. Handlers keep no state of their own: they
 * read it from the system's ledger (ctx.ledger), so a system that stores its effects keeps its
 * state across restarts. References are numbered per system and only for successful effects
 * (PAY-000001, RFD-000001, TRK-000001, CXL-000001, INV-000001, CN-000001), so invoice numbers have
 * no gaps; a refusal gets no reference. Compensations only undo what exists: a refund needs a
 * capture of that order (and never refunds more than was captured), a cancellation a scheduled
 * shipment, a void an issued invoice of that amount; anything else is REFUSED (signed).
 */
export function orderSystemHandlers(): Record<OrderSystemName, Record<string, OperationHandler>> {
  return {
    payment: {
      [paymentCharge.name]: operationHandler(paymentCharge, (request, ctx): PaymentChargeResponse => {
        if (ctx.decline) return { status: "DECLINED", paymentRef: "", amountCents: 0 };
        const captured = effectsOf(ctx.ledger, paymentCharge, "CAPTURED").length;
        return {
          status: "CAPTURED",
          paymentRef: numbered("PAY", captured + 1),
          amountCents: request.amountCents,
        };
      }),
      [paymentRefund.name]: operationHandler(paymentRefund, (request, ctx): PaymentRefundResponse => {
        const refused: PaymentRefundResponse = { status: "REFUSED", refundRef: "", amountCents: 0 };
        if (ctx.decline) return refused;
        const capture = effectsOf(ctx.ledger, paymentCharge, "CAPTURED").find(
          (e) => e.response.paymentRef === request.paymentRef,
        );
        if (
          !capture ||
          capture.request.orderId !== request.orderId ||
          capture.request.currency !== request.currency
        ) {
          return refused;
        }
        const refunds = effectsOf(ctx.ledger, paymentRefund, "REFUNDED");
        const alreadyRefunded = refunds
          .filter((e) => e.request.paymentRef === request.paymentRef)
          .reduce((sum, e) => sum + e.response.amountCents, 0);
        if (
          request.amountCents <= 0 ||
          alreadyRefunded + request.amountCents > capture.response.amountCents
        ) {
          return refused;
        }
        return {
          status: "REFUNDED",
          refundRef: numbered("RFD", refunds.length + 1),
          amountCents: request.amountCents,
        };
      }),
    },
    logistics: {
      [logisticsShip.name]: operationHandler(logisticsShip, (request, ctx): LogisticsShipResponse => {
        if (ctx.decline) return { status: "REJECTED", trackingNumber: "", carrier: SIM_CARRIER, etaDays: 0 };
        const scheduled = effectsOf(ctx.ledger, logisticsShip, "SCHEDULED").length;
        return {
          status: "SCHEDULED",
          trackingNumber: numbered("TRK", scheduled + 1),
          carrier: SIM_CARRIER,
          etaDays: etaDaysFor(request.destination),
        };
      }),
      [logisticsCancel.name]: operationHandler(logisticsCancel, (request, ctx): LogisticsCancelResponse => {
        const refused: LogisticsCancelResponse = {
          status: "REFUSED",
          trackingNumber: "",
          cancellationRef: "",
        };
        if (ctx.decline) return refused;
        const shipment = effectsOf(ctx.ledger, logisticsShip, "SCHEDULED").find(
          (e) => e.response.trackingNumber === request.trackingNumber,
        );
        const cancellations = effectsOf(ctx.ledger, logisticsCancel, "CANCELLED");
        if (
          !shipment ||
          shipment.request.orderId !== request.orderId ||
          cancellations.some((e) => e.request.trackingNumber === request.trackingNumber)
        ) {
          return refused;
        }
        return {
          status: "CANCELLED",
          trackingNumber: request.trackingNumber,
          cancellationRef: numbered("CXL", cancellations.length + 1),
        };
      }),
    },
    invoicing: {
      [invoiceIssue.name]: operationHandler(invoiceIssue, (request, ctx): InvoiceIssueResponse => {
        if (ctx.decline) return { status: "REJECTED", invoiceNumber: "", amountCents: 0 };
        const issued = effectsOf(ctx.ledger, invoiceIssue, "ISSUED").length;
        return {
          status: "ISSUED",
          invoiceNumber: numbered("INV", issued + 1),
          amountCents: request.amountCents,
        };
      }),
      [invoiceVoid.name]: operationHandler(invoiceVoid, (request, ctx): InvoiceVoidResponse => {
        const refused: InvoiceVoidResponse = { status: "REFUSED", creditNoteNumber: "", amountCents: 0 };
        if (ctx.decline) return refused;
        const invoice = effectsOf(ctx.ledger, invoiceIssue, "ISSUED").find(
          (e) => e.response.invoiceNumber === request.invoiceNumber,
        );
        const voids = effectsOf(ctx.ledger, invoiceVoid, "VOIDED");
        if (
          !invoice ||
          invoice.request.orderId !== request.orderId ||
          invoice.response.amountCents !== request.amountCents ||
          voids.some((e) => e.request.invoiceNumber === request.invoiceNumber)
        ) {
          return refused;
        }
        return {
          status: "VOIDED",
          creditNoteNumber: numbered("CN", voids.length + 1),
          amountCents: request.amountCents,
        };
      }),
    },
  };
}

export interface OrderSystems {
  endpoints: Record<OrderSystemName, string>;
  /** The three systems' keys with their SYSTEM_CODES, in a provider set of the requested depth. */
  providers: ProviderSet;
  systems: Record<OrderSystemName, SimulatedSystem>;
  stop(): Promise<void>;
}

function checkProviderSetDepth(providerSetDepth: number): void {
  if (
    !Number.isInteger(providerSetDepth) ||
    1 << providerSetDepth < ORDER_SYSTEMS.length ||
    providerSetDepth > 20
  ) {
    throw new RangeError(
      `providerSetDepth ${providerSetDepth} cannot hold the ${ORDER_SYSTEMS.length} order systems' keys`,
    );
  }
}

/** The order systems' keys (in ORDER_SYSTEMS order) as a provider set: the one set the registry knows. */
function orderProviderSet(providerSetDepth: number, publicKeys: readonly PublicKey[]): ProviderSet {
  return new ProviderSet(
    providerSetDepth,
    ORDER_SYSTEMS.map((system, i): ProviderKey => ({
      system,
      systemCode: SYSTEM_CODES[system],
      publicKey: publicKeys[i],
    })),
  );
}

/** The provider set of the order systems from their keys alone, without starting them (for deployment). */
export async function loadOrderProviderSet(args: {
  dataDir: string;
  providerSetDepth: number;
  logger?: Logger;
}): Promise<ProviderSet> {
  checkProviderSetDepth(args.providerSetDepth);
  const keys = [];
  for (const system of ORDER_SYSTEMS) {
    keys.push(
      (await loadOrCreateProviderKey({ dataDir: args.dataDir, system, logger: args.logger })).publicKey,
    );
  }
  return orderProviderSet(args.providerSetDepth, keys);
}

/**
 * Starts the payment, logistics and invoicing systems of the order scenario on loopback, each
 * signing with its key from `${dataDir}/keys` (or WESFLOW_KEY_<SYSTEM>; generated on first use).
 */
export async function startOrderSystems(args: {
  dataDir: string;
  providerSetDepth: number;
  logger?: Logger;
  /** How long a `timeout` fault holds an answer (default 60 s). */
  timeoutHoldMs?: number;
  /** A folder where each system keeps its effects (`<system>.sqlite`); default: in memory. */
  storeDir?: string;
}): Promise<OrderSystems> {
  const { dataDir, providerSetDepth, logger, timeoutHoldMs, storeDir } = args;
  checkProviderSetDepth(providerSetDepth);
  const handlers = orderSystemHandlers();
  const started: SimulatedSystem[] = [];
  try {
    const systems = {} as Record<OrderSystemName, SimulatedSystem>;
    for (const system of ORDER_SYSTEMS) {
      const key = await loadOrCreateProviderKey({ dataDir, system, logger });
      const running = await startSimulatedSystem({
        system,
        privateKey: key.privateKey,
        operations: handlers[system],
        specs: ORDER_OPERATIONS[system],
        timeoutHoldMs,
        storeFile: storeDir && path.join(storeDir, `${system}.sqlite`),
        logger,
      });
      started.push(running);
      systems[system] = running;
    }
    const providers = orderProviderSet(
      providerSetDepth,
      ORDER_SYSTEMS.map((system) => systems[system].publicKey),
    );
    const endpoints = Object.fromEntries(ORDER_SYSTEMS.map((s) => [s, systems[s].url])) as Record<
      OrderSystemName,
      string
    >;
    return {
      endpoints,
      providers,
      systems,
      stop: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
}
