import { createApiClient } from "@ranklab/api/client";
import type { ApiDev } from "./api-dev.ts";

/** The local admin rater npm start makes on a fresh home (and finds again on later starts). */
export const LOCAL_ADMIN = { externalId: "web:admin", displayName: "admin (npm start)" };

/**
 * A one-time login link for the labeling page that signs in the local admin rater and
 * opens the Runs tab. The token rides in the URL's fragment, which the browser never
 * sends (so no request log holds it); the page exchanges it for a session cookie, and
 * the API marks it used, so a link copied later from the terminal's scrollback is dead.
 * @example log(`open ${await adminLoginLink(api)}`)
 */
export async function adminLoginLink(api: ApiDev): Promise<string> {
  const admin = createApiClient(api.url, api.tokens.ADMIN_API_TOKEN);
  const made = await admin.v1.raters.$post({ json: LOCAL_ADMIN });
  if (!made.ok) throw new Error(`making the local admin rater failed: ${made.status} ${await made.text()}`);
  const rater = await made.json();
  if (rater.role !== "admin") {
    const promoted = await admin.v1.raters[":id"].$patch({ param: { id: String(rater.id) }, json: { role: "admin" } });
    if (!promoted.ok) throw new Error(`giving rater ${rater.id} the admin role failed: ${promoted.status} ${await promoted.text()}`);
  }
  const login = await admin.v1.raters[":id"]["web-logins"].$post({ param: { id: String(rater.id) }, json: { label: "npm start link", singleUse: true } });
  if (!login.ok) throw new Error(`making a login link failed: ${login.status} ${await login.text()}`);
  const { token } = await login.json();
  return `${api.url}/app#login=${token}&tab=runs`;
}
