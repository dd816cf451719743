-- Written from drizzle-kit's output by hand: `checkpoints` gains its columns with
-- ALTER TABLE instead of drizzle-kit's table rebuild, because D1 cannot switch foreign
-- keys off and completions reference checkpoints. The CHECK that keeps a rejected
-- checkpoint from being active is a column constraint of rejected_reason here.
ALTER TABLE `checkpoints` ADD `rejected_reason` text CONSTRAINT "checkpoints_rejected_not_active" CHECK("rejected_reason" IS NULL OR "active" = 0);--> statement-breakpoint
ALTER TABLE `checkpoints` ADD `reference` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `checkpoints_one_reference_per_kind` ON `checkpoints` (`kind`) WHERE "checkpoints"."reference" = 1;--> statement-breakpoint
ALTER TABLE `leases` ADD `released_at` integer;--> statement-breakpoint
ALTER TABLE `leases` ADD `release_reason` text;--> statement-breakpoint
-- ranking_items is rebuilt (nothing references it): every existing rank list is strict,
-- so each item's level is its position.
CREATE TABLE `__new_ranking_items` (
	`ranking_id` integer NOT NULL,
	`position` integer NOT NULL,
	`level` integer NOT NULL,
	`prompt_id` integer NOT NULL,
	`completion_id` integer NOT NULL,
	PRIMARY KEY(`ranking_id`, `position`),
	FOREIGN KEY (`ranking_id`,`prompt_id`) REFERENCES `rankings`(`id`,`prompt_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`completion_id`,`prompt_id`) REFERENCES `completions`(`id`,`prompt_id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "ranking_items_position" CHECK("__new_ranking_items"."position" >= 0),
	CONSTRAINT "ranking_items_level" CHECK("__new_ranking_items"."level" >= 0 AND "__new_ranking_items"."level" <= "__new_ranking_items"."position")
);
--> statement-breakpoint
INSERT INTO `__new_ranking_items`("ranking_id", "position", "level", "prompt_id", "completion_id") SELECT "ranking_id", "position", "position", "prompt_id", "completion_id" FROM `ranking_items`;--> statement-breakpoint
DROP TABLE `ranking_items`;--> statement-breakpoint
ALTER TABLE `__new_ranking_items` RENAME TO `ranking_items`;--> statement-breakpoint
CREATE UNIQUE INDEX `ranking_items_once_per_ranking` ON `ranking_items` (`ranking_id`,`completion_id`);--> statement-breakpoint
ALTER TABLE `training_runs` ADD `summary` text;
