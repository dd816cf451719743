CREATE TABLE `gold_group_items` (
	`gold_group_id` integer NOT NULL,
	`position` integer NOT NULL,
	`level` integer NOT NULL,
	`prompt_id` integer NOT NULL,
	`completion_id` integer NOT NULL,
	PRIMARY KEY(`gold_group_id`, `position`),
	FOREIGN KEY (`gold_group_id`,`prompt_id`) REFERENCES `gold_groups`(`id`,`prompt_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`completion_id`,`prompt_id`) REFERENCES `completions`(`id`,`prompt_id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "gold_group_items_position" CHECK("gold_group_items"."position" >= 0),
	CONSTRAINT "gold_group_items_level" CHECK("gold_group_items"."level" >= 0 AND "gold_group_items"."level" <= "gold_group_items"."position")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gold_group_items_once` ON `gold_group_items` (`gold_group_id`,`completion_id`);--> statement-breakpoint
CREATE TABLE `gold_groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`prompt_id` integer NOT NULL,
	`completion_set` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`prompt_id`) REFERENCES `prompts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `gold_groups_completion_set_unique` ON `gold_groups` (`completion_set`);--> statement-breakpoint
CREATE UNIQUE INDEX `gold_groups_id_prompt` ON `gold_groups` (`id`,`prompt_id`);