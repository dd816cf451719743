CREATE TABLE `web_logins` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`rater_id` integer NOT NULL,
	`token_sha256` text NOT NULL,
	`label` text,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`rater_id`) REFERENCES `raters`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "web_logins_sha256_hex" CHECK(length("web_logins"."token_sha256") = 64)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `web_logins_token_sha256_unique` ON `web_logins` (`token_sha256`);--> statement-breakpoint
CREATE INDEX `web_logins_rater` ON `web_logins` (`rater_id`);