import { NOTARY_SYSTEM, NOTARY_SYSTEM_CODE, notaryStatus } from "../../host";
import type { SystemModule } from "../module";

export * from "./server";
export * from "./journal";

/** Where a run's host finds the notary (`wesflow notary` prints it): an http(s) base URL. */
export const NOTARY_URL_ENV = "WESFLOW_NOTARY_URL";

/**
 * The signing notary (`wesflow notary --upstream URL`): a forwarding proxy in front of a REST API that
 * signs nothing. It is a provider of its own (system code 8, its key in the provider set like any
 * system's, `WESFLOW_KEY_NOTARY` or `<data-dir>/keys/notary.key`); the calls it attests are the HTTP
 * operations that workflow files declare (src/host/http.ts), settled by its status query
 * `notary.status`. It is not simulated: it runs as its own process, and a run finds it at
 * `WESFLOW_NOTARY_URL`.
 */
export const notarySystem: SystemModule = {
  name: NOTARY_SYSTEM,
  code: NOTARY_SYSTEM_CODE,
  operations: [notaryStatus],
  status: notaryStatus,
  forward: notaryStatus.name,
  handlers: () => ({}),
  endpoint: () => {
    const url = process.env[NOTARY_URL_ENV];
    return url !== undefined && url.trim() !== "" ? url.trim() : undefined;
  },
};
