import type { Role } from "../env.ts";
import { requireRole } from "../middleware/auth.ts";
import { documentRoles } from "../openapi.ts";

/** A guard that also says in /openapi.json who may call (`x-roles`). */
const guard = (...roles: Role[]) => documentRoles(requireRole(...roles), roles);

/** Route guards, named by who may call. */
export const anyRole = guard("bot", "trainer", "admin");
export const botOrAdmin = guard("bot", "admin");
export const trainerOrAdmin = guard("trainer", "admin");
export const adminOnly = guard("admin");
export const trainerOnly = guard("trainer");
