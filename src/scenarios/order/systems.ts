import type { PublicKey } from "../../crypto";
import type { Logger } from "../../project";
import {
  loadOrCreateProviderKey,
  operationHandler,
  startSimulatedSystem,
  type OperationHandler,
  type SimulatedSystem,
} from "../../systems";
import { ProviderSet, SYSTEM_CODES, type ProviderKey, type SystemName } from "../../trace";
import {
  invoiceIssue,
  logisticsShip,
  ORDER_OPERATIONS,
  paymentCharge,
  type InvoiceIssueResponse,
  type LogisticsShipResponse,
  type PaymentChargeResponse,
} from "./operations";

export const SIM_CARRIER = "SIM-CARRIER";

const ORDER_SYSTEMS = ["payment", "logistics", "invoicing"] as const satisfies readonly SystemName[];
type OrderSystemName = (typeof ORDER_SYSTEMS)[number];

function numbered(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, "0")}`;
}

/** Delivery days derived deterministically from the destination text: 1 to 5. */
export function etaDaysFor(destination: string): number {
  const sum = [...Buffer.from(destination, "utf8")].reduce((total, byte) => total + byte, 0);
  return 1 + (sum % 5);
}

/**
 * The business logic of the three simulated systems, with fresh state (reference counters) per
 * call. References are numbered per system and only for successful effects (PAY-000001,
 * TRK-000001, INV-000001, ...), so invoice numbers have no gaps; a decline gets no reference.
 */
export function orderSystemHandlers(): Record<OrderSystemName, Record<string, OperationHandler>> {
  let payments = 0;
  let shipments = 0;
  let invoices = 0;
  return {
    payment: {
      [paymentCharge.name]: operationHandler(paymentCharge, (request, ctx): PaymentChargeResponse => {
        if (ctx.decline) return { status: "DECLINED", paymentRef: "", amountCents: 0 };
        payments += 1;
        return {
          status: "CAPTURED",
          paymentRef: numbered("PAY", payments),
          amountCents: request.amountCents,
        };
      }),
    },
    logistics: {
      [logisticsShip.name]: operationHandler(logisticsShip, (request, ctx): LogisticsShipResponse => {
        if (ctx.decline) return { status: "REJECTED", trackingNumber: "", carrier: SIM_CARRIER, etaDays: 0 };
        shipments += 1;
        return {
          status: "SCHEDULED",
          trackingNumber: numbered("TRK", shipments),
          carrier: SIM_CARRIER,
          etaDays: etaDaysFor(request.destination),
        };
      }),
    },
    invoicing: {
      [invoiceIssue.name]: operationHandler(invoiceIssue, (request, ctx): InvoiceIssueResponse => {
        if (ctx.decline) return { status: "REJECTED", invoiceNumber: "", amountCents: 0 };
        invoices += 1;
        return {
          status: "ISSUED",
          invoiceNumber: numbered("INV", invoices),
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
}): Promise<OrderSystems> {
  const { dataDir, providerSetDepth, logger, timeoutHoldMs } = args;
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
