import { requireRole } from "../middleware/auth.ts";

/** Route guards, named by who may call. */
export const anyRole = requireRole("bot", "trainer", "admin");
export const botOrAdmin = requireRole("bot", "admin");
export const trainerOrAdmin = requireRole("trainer", "admin");
export const adminOnly = requireRole("admin");
export const trainerOnly = requireRole("trainer");
