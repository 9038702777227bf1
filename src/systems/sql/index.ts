import { defaultDataDir } from "../../project";
import type { SystemModule } from "../module";
import { sqlGatewayHandlers } from "./gateway";
import { labInspectionResult, SQL_QUERIES, sqlStatus } from "./queries";
import { sqlSourceOf } from "./source";

export * from "./source";
export * from "./database";
export * from "./query";
export * from "./queries";
export * from "./gateway";
export * from "./lab";

/**
 * The SQL database gateway: named, parameterised, read-only queries of the quality lab's database
 * (SQLite by default, PostgreSQL with WESFLOW_SQL_URL), each answered with its rows encoded into
 * field elements and signed with the gateway's own key, like any system's answer.
 */
export const sqlSystem: SystemModule = {
  name: "sql",
  code: 5,
  operations: [...SQL_QUERIES.map((query) => query.spec), sqlStatus],
  status: sqlStatus,
  forward: labInspectionResult.name,
  handlers: (context) =>
    sqlGatewayHandlers({
      source: sqlSourceOf({ dataDir: context?.dataDir ?? defaultDataDir(), url: context?.sqlUrl }),
      logger: context?.logger,
    }),
};
