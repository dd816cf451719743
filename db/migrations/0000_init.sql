CREATE TABLE `checkpoints` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`version` integer NOT NULL,
	`sha256` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`r2_key` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`active` integer DEFAULT false NOT NULL,
	`metrics` text DEFAULT '{}' NOT NULL,
	`config` text DEFAULT '{}' NOT NULL,
	`training_run_id` integer,
	`created_at` integer NOT NULL,
	`activated_at` integer,
	FOREIGN KEY (`training_run_id`) REFERENCES `training_runs`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "checkpoints_sha256_hex" CHECK(length("checkpoints"."sha256") = 64),
	CONSTRAINT "checkpoints_active_is_ready" CHECK("checkpoints"."active" = 0 OR "checkpoints"."status" = 'ready')
);
--> statement-breakpoint
CREATE UNIQUE INDEX `checkpoints_r2_key_unique` ON `checkpoints` (`r2_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `checkpoints_one_active_per_kind` ON `checkpoints` (`kind`) WHERE "checkpoints"."active" = 1;--> statement-breakpoint
CREATE UNIQUE INDEX `checkpoints_kind_version` ON `checkpoints` (`kind`,`version`);--> statement-breakpoint
CREATE UNIQUE INDEX `checkpoints_kind_sha256` ON `checkpoints` (`kind`,`sha256`);--> statement-breakpoint
CREATE TABLE `completions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`prompt_id` integer NOT NULL,
	`text` text NOT NULL,
	`checkpoint_id` integer,
	`generation` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`prompt_id`) REFERENCES `prompts`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`checkpoint_id`) REFERENCES `checkpoints`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `completions_prompt` ON `completions` (`prompt_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `completions_id_prompt` ON `completions` (`id`,`prompt_id`);--> statement-breakpoint
CREATE TABLE `leases` (
	`id` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`acked_at` integer,
	`score_count` integer NOT NULL,
	`ranking_count` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `prompts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`text` text NOT NULL,
	`source` text DEFAULT 'manual' NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `prompts_text_unique` ON `prompts` (`text`);--> statement-breakpoint
CREATE TABLE `ranking_items` (
	`ranking_id` integer NOT NULL,
	`position` integer NOT NULL,
	`prompt_id` integer NOT NULL,
	`completion_id` integer NOT NULL,
	PRIMARY KEY(`ranking_id`, `position`),
	FOREIGN KEY (`ranking_id`,`prompt_id`) REFERENCES `rankings`(`id`,`prompt_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`completion_id`,`prompt_id`) REFERENCES `completions`(`id`,`prompt_id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "ranking_items_position" CHECK("ranking_items"."position" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ranking_items_once_per_ranking` ON `ranking_items` (`ranking_id`,`completion_id`);--> statement-breakpoint
CREATE TABLE `rankings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`rater_id` integer NOT NULL,
	`prompt_id` integer NOT NULL,
	`completion_set` text NOT NULL,
	`source` text NOT NULL,
	`created_at` integer NOT NULL,
	`lease_id` text,
	`lease_expires_at` integer,
	`trained_at` integer,
	FOREIGN KEY (`rater_id`) REFERENCES `raters`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`prompt_id`) REFERENCES `prompts`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`lease_id`) REFERENCES `leases`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rankings_one_per_rater_set` ON `rankings` (`rater_id`,`completion_set`);--> statement-breakpoint
CREATE INDEX `rankings_pool` ON `rankings` (`trained_at`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `rankings_set` ON `rankings` (`completion_set`);--> statement-breakpoint
CREATE UNIQUE INDEX `rankings_id_prompt` ON `rankings` (`id`,`prompt_id`);--> statement-breakpoint
CREATE TABLE `raters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`external_id` text NOT NULL,
	`display_name` text,
	`role` text DEFAULT 'rater' NOT NULL,
	`blocked` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `raters_external_id_unique` ON `raters` (`external_id`);--> statement-breakpoint
CREATE TABLE `scores` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`rater_id` integer NOT NULL,
	`completion_id` integer NOT NULL,
	`value` real NOT NULL,
	`source` text NOT NULL,
	`created_at` integer NOT NULL,
	`lease_id` text,
	`lease_expires_at` integer,
	`trained_at` integer,
	FOREIGN KEY (`rater_id`) REFERENCES `raters`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`completion_id`) REFERENCES `completions`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`lease_id`) REFERENCES `leases`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "scores_value_unit_interval" CHECK("scores"."value" >= 0 AND "scores"."value" <= 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scores_one_per_rater_completion` ON `scores` (`rater_id`,`completion_id`);--> statement-breakpoint
CREATE INDEX `scores_pool` ON `scores` (`trained_at`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `scores_completion` ON `scores` (`completion_id`);--> statement-breakpoint
CREATE TABLE `training_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text DEFAULT 'full' NOT NULL,
	`status` text DEFAULT 'requested' NOT NULL,
	`requested_by` text NOT NULL,
	`trainer` text,
	`requested_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`metrics` text DEFAULT '{}' NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `training_runs_status` ON `training_runs` (`status`);