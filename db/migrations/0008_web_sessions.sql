CREATE TABLE `web_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_sha256` text NOT NULL,
	`login_id` integer NOT NULL,
	`rater_id` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`ended_at` integer,
	FOREIGN KEY (`login_id`) REFERENCES `web_logins`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`rater_id`) REFERENCES `raters`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "web_sessions_sha256_hex" CHECK(length("web_sessions"."session_sha256") = 64)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `web_sessions_session_sha256_unique` ON `web_sessions` (`session_sha256`);--> statement-breakpoint
CREATE INDEX `web_sessions_login` ON `web_sessions` (`login_id`);--> statement-breakpoint
ALTER TABLE `web_logins` ADD `single_use` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `web_logins` ADD `used_at` integer;